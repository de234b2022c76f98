"""Reproduce the paper's per-point experiment (docs/method.md §5): claim C12.

Command:   bin/reproduce --experiment=points --preset=small [--data_dir=DATA_DIR]
Trains:    the same `default` survey as capacity and correlation (trained once); it reads the
           per-point tables of the networks at 100% training accuracy.
Runtime:   small, measured on this project's 2-core machine (2026-11-30): seconds once the
           survey exists.
Result:    figures/points_<dataset>.png|pdf and the claims C12 in claims.md / claims.json under
           results/reproduce/<preset>/; the small preset's committed results are in
           docs/figures/ (claims report: docs/figures/claims.md; commentary, with what
           differs from the paper: docs/results.md).
Quick:     bin/reproduce --experiment=points --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py



def get_config(preset="small"):
  return common.survey_experiment("points", preset)
