"""Reproduce the paper's correlation experiment (SPEC §3).

Command:   bin/reproduce --experiment=correlation --preset=small --data_dir=../shared/data
Runtime:   measured on this project's 2-core machine: see the README's reproduction table.
Result:    figures/correlation*.png|pdf and its claims in claims.md (verdicts in the README).
Quick:     bin/reproduce --experiment=correlation --preset=tiny   (seconds to a minute; for tests)
"""

from sensitivity_tf.reproduce import presets


def get_config(preset="small"):
  return presets.experiment_config("correlation", preset)
