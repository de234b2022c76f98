"""Training one network: its typed config, the training loop and stop rule, and a run
(config -> run directory, resumable)."""
