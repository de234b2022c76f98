"""Reproduce the paper's correlation experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=correlation --preset=small [--data_dir=DATA_DIR]
Trains:    capacity's `default` survey per dataset (with CIFAR-10 at the small preset) and
           the factorial `grid` study on the first dataset, each network a budget of 3,000 steps.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): 27.6 min on top of
           capacity's surveys (which it reuses): the CIFAR-10 random survey, 120 networks on
           500 images, 26.6 min, 34 at 100% training accuracy; the Fashion-MNIST factorial
           grid, 24 networks, 1.0 min. Redrawing: seconds.
Result:    [old protocol, as above]
           figures/correlation.png|pdf and the Kendall τ / granulated Ψ tables; small preset:
           C6 (‖J‖ correlates with the gap) holds on Fashion-MNIST (Pearson of log ‖J‖ 0.91
              [0.59, 0.96], Spearman 0.45 [0.06, 0.74], Kendall 0.36 [0.07, 0.60]) and MNIST
              (0.93, 0.49, 0.38, all intervals above 0); does not hold on CIFAR-10 (Spearman
              0.33 [-0.02, 0.64]), so not on all datasets; CIFAR-100 has no offline copy;
           C7 (transitions less consistent) holds: Spearman of transitions -0.28, -0.25, -0.75.
           Ψ on the grid (Fashion-MNIST): Jacobian norm 0.375, weight norm 0.333, number of
           weights 0.208, transitions -0.042; refused on the random surveys (not a grid).
Quick:     bin/reproduce --experiment=correlation --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("correlation", preset)
