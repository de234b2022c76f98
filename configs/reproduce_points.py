"""Reproduce the paper's points experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=points --preset=small [--data_dir=DATA_DIR]
Trains:    the same `default` survey as capacity and correlation (trained once).
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): seconds; it reads the
           per-point tables of capacity's surveys (which it trains if they are missing).
Result:    [old protocol, as above]
           figures/points_<dataset>.png|pdf; on the small preset
           C12 (per-point ‖J‖ predicts per-point generalization) holds on both: mean per-model
              Spearman ρ(‖J(x)‖, loss(x)) 0.79 [0.66, 0.88] on Fashion-MNIST and 0.87 [0.77, 0.97]
              on MNIST; ROC-AUC for misclassification 0.79 and 0.86, equal to the confidence
              baseline 1 - p_max (Spearman of ‖J(x)‖ with 1 - p_max: 0.98): ‖J(x)‖ here mostly
              restates the softmax confidence.
Quick:     bin/reproduce --experiment=points --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("points", preset)
