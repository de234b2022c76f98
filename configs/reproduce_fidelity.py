"""The fidelity study (issue 20; docs/method.md "The fidelity study"): why our Figures 2 and 3
differ from the paper's, tested hypothesis by hypothesis.

Command:   bin/reproduce --experiment=fidelity --preset=small [--data_dir=DATA_DIR]
Trains:    per setting (inputs raw or standardized per pixel x the preset's training subset or
           the full training set; small, on MNIST: raw_subset (today's networks, longer),
           standardized_subset (units alone) and standardized_full (units and size)), the
           trajectories network (784-512x2-10, budget 8,000 steps, subset 5,000) and the
           regions network (784-128x3-10, budget 6,000 steps, subset 2,000), each ONE run to
           10x its budget (80,000 and 60,000 steps), weights kept and measured at 1x, 2x, 5x
           and 10x (snapshot_steps). raw_full (size alone) is one more setting:
           --config.settings=raw_subset,standardized_subset,raw_full,standardized_full (the
           others are then read from cache).
Runtime:   small, measured on this project's 2-core machine (2026-12-04, MNIST from a local
           copy, the machine shared with other test processes, load average 2-5): raw_subset and
           standardized_subset together 22.3 min, standardized_full 13.0 min (80,000 steps of
           784-512x2 at 5-7 ms per step, 60,000 of 784-128x3, snapshots evaluated at 1x, 2x, 5x,
           10x). raw_full was not run.
Result:    figures/fidelity_<dataset>.png|pdf and tables/<dataset>/fidelity.csv (one row per
           setting x checkpoint: every feature of Figures 2 and 3, with ‖J‖ also per raw pixel,
           and whether it matches the paper); no claim is judged. Committed: docs/fidelity/;
           what it shows: docs/results.md ("The fidelity study").
Resumable: the same command resumes the long runs from their checkpoints and evaluates only
           the snapshots not yet measured.
Quick:     bin/reproduce --experiment=fidelity --preset=tiny   (about a minute; for tests: two
           settings, raw_subset and standardized_full, on Fashion-MNIST, to 2x a 400-step budget)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py

# The settings: one hypothesis each, or their combination [ours].
SETTINGS = {
    "raw_subset": dict(standardize=False, full_training_set=False),
    "standardized_subset": dict(standardize=True, full_training_set=False),
    "raw_full": dict(standardize=False, full_training_set=True),
    "standardized_full": dict(standardize=True, full_training_set=True),
}
# Per preset: datasets, which settings run (`settings`, comma-separated, in this order; any of
# SETTINGS, e.g. --config.settings=raw_subset,standardized_subset,raw_full,standardized_full),
# checkpoints (multiples of each network's budget; the run goes to the last) and what the
# trajectory evaluation changes from the trajectories experiment's (fewer test points: the
# study reads only the trajectories). Tiny: two settings that run every code path; small:
# MNIST (the paper's Figure 2) and three settings that fit in about 60-90 min here (baseline,
# units alone, units with the full set); paper: all four.
PRESET = {
    "tiny": dict(datasets=["fashion_mnist"], settings="raw_subset,standardized_full",
                 checkpoints=[1, 2], evaluation=dict(test_points=50, train_points=0)),
    "small": dict(datasets=["mnist"],
                  settings="raw_subset,standardized_subset,standardized_full",
                  checkpoints=[1, 2, 5, 10], evaluation=dict(test_points=200, train_points=0)),
    "paper": dict(datasets=["mnist"], settings=",".join(SETTINGS), checkpoints=[1, 2, 5, 10],
                  evaluation=dict(test_points=1000, train_points=0)),
}


def get_config(preset="small"):
  preset = common.preset_name(preset)
  p = PRESET[preset]
  # The networks are the trajectories and regions experiments' own (their configs), with the
  # units each setting names: the study reports ‖J‖ per model-input unit and, for
  # standardized inputs, per raw pixel as well (those configs' adopted jacobian_wrt is undone).
  trajectories = config_files.experiment_config("trajectories", preset)
  regions = config_files.experiment_config("regions", preset)
  cfg = common.experiment(
      "fidelity", preset, settings=p["settings"], setting_values=SETTINGS,
      checkpoints=list(p["checkpoints"]),
      trajectories=dict(network=trajectories.network.to_dict(),
                        evaluation=dict(trajectories.evaluation.to_dict(), **p["evaluation"],
                                        jacobian_wrt="model_input")),
      regions=dict(network=regions.network.to_dict(), num_slices=regions.num_slices,
                   resolution=regions.resolution))
  cfg.datasets = list(p["datasets"])
  return cfg
