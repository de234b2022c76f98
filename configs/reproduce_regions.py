"""Reproduce the paper's regions experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=regions --preset=small [--data_dir=DATA_DIR]
Trains:    one 784-128x3-10 ReLU network per dataset on 2,000 examples (small), a budget of
           6,000 steps (384 epochs at batch 128); no verdict if it ends short of 100%.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): 0.8 min for the 12
           slices of 200x200 codes per dataset, plus seconds to train the two 784-128x3-10
           networks (2,000 examples; 100% training accuracy in 1,000 and 300 steps).
Result:    [old protocol, as above]
           figures/regions_<dataset>.png|pdf; on the small preset
           C5 (training points in low code-change density after training) does not hold on
              either: share of anchors below the disc density 0.61 [0.45, 0.75] on
              Fashion-MNIST and 0.58 [0.42, 0.73] on MNIST (36 anchors each; the rule asks for
              an interval above 1/2); mean density ratios after training 0.91 and 0.96.
Quick:     bin/reproduce --experiment=regions --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("regions", preset)
