"""Factorial grid study: depth x width x optimizer x batch size, every cell trained.

Command:   bin/survey --config=configs/survey_grid.py --preset=small [--dataset=mnist]
Grid:      depth {1, 2, 4} x width {64, 256} x optimizer {sgd, adam} x batch {32, full}
           (24 cells; tiny: depth x width, 2 x 2 cells); ReLU; learning rate 0.005 for both
           optimizers [ours]: a rate tied to the optimizer would be one more varied
           hyperparameter, and the grid must be complete over those it varies.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           tiny: 4 networks, about 10 s; small: 24 networks, 65 s wall (measured on this
           project's 2-core machine (2026-11-27, Fashion-MNIST)); paper: 3 seeds per cell.
Result:    [old protocol, as above]
           a complete grid over the varied hyperparameters, so that the granulated Kendall
           coefficient Psi of Jiang et al. (2020) can be computed (bin/reproduce). Small,
           measured: 24 ok, 8 at 100% training accuracy; Psi with the gap: Jacobian norm 0.375,
           weight norm 0.333, number of weights 0.208, transitions -0.042.
Quick:     bin/survey --config=configs/survey_grid.py --preset=tiny
Name:      the study `grid`; bin/reproduce's experiments run this same study under
           the same name (configs/_common.py builds both), so its networks
           have the same identities (run-directory hashes) in both.
Protocol:  every network trains for the preset's budget of optimizer steps
           (stop_rule=budget; see configs/_common.py).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.grid_study(preset)
