"""Factorial grid study: depth x width x optimizer x batch size, every cell trained.

Command:   bin/survey --config=configs/survey_grid.py --preset=small [--dataset=mnist]
Grid:      depth {1, 2, 4} x width {64, 256} x optimizer {sgd, adam} x batch {32, full}
           (24 cells; tiny: depth x width, 2 x 2 cells); ReLU; learning rate 0.005 for both
           optimizers [ours]: a rate tied to the optimizer would be one more varied
           hyperparameter, and the grid must be complete over those it varies.
Runtime:   small, measured on this project's 2-core machine (2026-11-30): 24 networks, 4.8
           min (Fashion-MNIST). tiny: 4 networks, seconds. paper: 3 seeds per cell (a cluster).
Result:    one row per network in <results_dir>/table, complete over the varied hyperparameters,
           so that the granulated Kendall Ψ of Jiang et al. (2020) can be computed
           (bin/reproduce --experiment=correlation); the committed small-preset tables are
           docs/figures/tables/<dataset>/grid-<hash>.csv, and what they show is in
           docs/figures/claims.md and docs/results.md.
Quick:     bin/survey --config=configs/survey_grid.py --preset=tiny
Name:      the study `grid`; bin/reproduce's experiments run this same study under
           the same name (configs/_common.py builds both), so its networks have the
           same identities (run-directory hashes) in both.
Protocol:  every network trains for the preset's budget of optimizer steps
           (stop_rule=budget; see configs/_common.py).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.grid_study(preset)
