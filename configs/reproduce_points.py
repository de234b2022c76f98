"""Reproduce the paper's points experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=points --preset=small [--data_dir=DATA_DIR]
Trains:    the same `default` survey as capacity and correlation (trained once).
Runtime:   small, measured on this project's 2-core machine (2026-11-30): seconds; it reads the
           per-point tables of capacity's surveys (which it trains if they are missing).
Result:    figures/points_<dataset>.png|pdf; on the small preset
           C12 (per-point ‖J‖ predicts per-point generalization) holds on both: mean per-model
              Spearman ρ(‖J(x)‖, loss(x)) 0.73 [0.58, 0.85] on Fashion-MNIST and 0.85 [0.73,
              0.94] on MNIST; ROC-AUC for misclassification 0.77 and 0.85 against the
              confidence baseline 1 - p_max 0.77 and 0.86; beyond confidence, the mean
              per-model partial ρ(‖J(x)‖, loss(x) | p_max) is 0.05 [0.03, 0.07] and 0.02 [0.01,
              0.03]: ‖J(x)‖ here mostly restates the softmax confidence.
           Old protocol (2026-11-27): ρ 0.79 and 0.87, ROC-AUC equal to the baseline.
Quick:     bin/reproduce --experiment=points --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("points", preset)
