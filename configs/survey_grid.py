"""Factorial grid study: depth x width x optimizer x batch size, every cell trained.

Command:   bin/survey --config=configs/survey_grid.py --preset=small [--dataset=mnist]
Grid:      depth {1, 2, 4} x width {64, 256} x optimizer {sgd, adam} x batch {32, full}
           (24 cells; tiny: depth x width, 2 x 2 cells); ReLU; learning rate 0.005 for both
           optimizers [ours]: a rate tied to the optimizer would be one more varied
           hyperparameter, and the grid must be complete over those it varies.
Runtime:   tiny: 4 networks, about 10 s; small: 24 networks, 65 s wall (measured on this
           project's 2-core machine (2026-11-27, Fashion-MNIST)); paper: 3 seeds per cell.
Result:    a complete grid over the varied hyperparameters, so that the granulated Kendall
           coefficient Psi of Jiang et al. (2020) can be computed (bin/reproduce). Small,
           measured: 24 ok, 8 at 100% training accuracy; Psi with the gap: Jacobian norm 0.375,
           weight norm 0.333, number of weights 0.208, transitions -0.042.
Quick:     bin/survey --config=configs/survey_grid.py --preset=tiny
"""

from sensitivity_tf.survey import study


def get_config(preset="small"):
  return study.grid_study(preset)
