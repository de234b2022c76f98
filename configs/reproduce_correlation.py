"""Reproduce the paper's correlation experiment (Figure 4; docs/method.md §5): claims C6, C7,
and Kendall τ / granulated Ψ over the factorial grid.

Command:   bin/reproduce --experiment=correlation --preset=small [--data_dir=DATA_DIR]
Trains:    capacity's `default` survey per dataset (with CIFAR-10 at the small preset, on 500
           examples with widths 64-256) and the factorial `grid` study on the first dataset
           (configs/survey_grid.py).
Runtime:   small, measured on this project's 2-core machine (2026-11-30): 4.8 min for the
           Fashion-MNIST grid (24 networks); CIFAR-10's survey 50.3 min (120 networks); the
           Fashion-MNIST and MNIST surveys are capacity's.
Result:    figures/correlation.png|pdf and the claims C6 and C7 in claims.md / claims.json under
           results/reproduce/<preset>/; the small preset's committed results are in
           docs/figures/ (claims report: docs/figures/claims.md; commentary, with what
           differs from the paper: docs/results.md).
Quick:     bin/reproduce --experiment=correlation --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py



def get_config(preset="small"):
  cfg = common.survey_experiment("correlation", preset, with_cifar=True,
                                 grid=common.grid_study(preset))
  cfg.grid_datasets = cfg.datasets[:1]  # the grid runs on the first dataset only
  return cfg
