"""Reproduce the paper's factors experiment (SPEC §3).

Command:   bin/reproduce --experiment=factors --preset=small --data_dir=../shared/data
Runtime:   measured on this project's 2-core machine: see the README's reproduction table.
Result:    figures/factors*.png|pdf and its claims in claims.md (verdicts in the README).
Quick:     bin/reproduce --experiment=factors --preset=tiny   (seconds to a minute; for tests)
"""

from sensitivity_tf.reproduce import presets


def get_config(preset="small"):
  return presets.experiment_config("factors", preset)
