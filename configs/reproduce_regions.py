"""Reproduce the paper's regions experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=regions --preset=small [--data_dir=DATA_DIR]
Runtime:   small, measured on this project's 2-core machine (2026-11-27): 0.8 min for the 12
           slices of 200x200 codes per dataset, plus seconds to train the two 784-128x3-10
           networks (2,000 examples; 100% training accuracy in 1,000 and 300 steps).
Result:    figures/regions_<dataset>.png|pdf; on the small preset
           C5 (training points in low code-change density after training) does not hold on
              either: share of anchors below the disc density 0.61 [0.45, 0.75] on
              Fashion-MNIST and 0.58 [0.42, 0.73] on MNIST (36 anchors each; the rule asks for
              an interval above 1/2); mean density ratios after training 0.91 and 0.96.
Quick:     bin/reproduce --experiment=regions --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.reproduce import presets


def get_config(preset="small"):
  return presets.experiment_config("regions", preset)
