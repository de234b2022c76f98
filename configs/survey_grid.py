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
           (bin/reproduce --experiment=correlation); committed at the small preset:
           docs/figures/tables/<dataset>/grid-<hash>.csv (read in docs/results.md).
Quick:     bin/survey --config=configs/survey_grid.py --preset=tiny
Name:      the study `grid`; bin/reproduce runs the same study (same run directories).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.grid_study(preset)
