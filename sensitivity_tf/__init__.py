"""sensitivity_tf: sensitivity and generalization of neural networks (Novak et al., ICLR 2018).

One module per concept, in the order data flows through them (the README's code map has one
line per module; docs/method.md has the method they implement):

* data: `data` (datasets, sources, validation, preprocessing, augmentation);
* models: `nonlinearities` (pieces and codes), `models` (FC networks, pre-activations);
* training: `train_config` (every knob), `training` (the loop and stop rule), `train_run`
  (one run, resumable);
* run directory: `run_dir` (its files), `run_claim` (one owner at a time), `environment`
  (code version, libraries, machine);
* metrics: `jacobian` (the Jacobian norm), `transitions` and `exact_transitions` (linear
  region transitions), `trajectories` (the ellipses they are measured along), `regions`
  (codes on a 2-D slice);
* evaluation: `evaluation` (everything measured on one network), `row_table` (tables that
  many processes append to);
* survey: `survey` (many networks, driven by keras-tuner);
* reproduce: `reproduce` (the paper's figures and claims);
* commands: `commands` (train, evaluate_sensitivity, survey, reproduce), `cli`,
  `config_files`, `atomic`.
"""

__version__ = "0.1.0"
