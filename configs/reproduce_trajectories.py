"""Reproduce the paper's trajectories experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=trajectories --preset=small [--data_dir=DATA_DIR]
Trains:    one 784-512x2-10 ReLU network per dataset on 5,000 examples (small), a budget of
           8,000 steps (205 epochs at batch 128); no verdict if it ends short of 100%.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): 0.3 min from scratch:
           one 784-512x2-10 ReLU network per dataset on 10,000 examples, at most 4,000 steps
           (MNIST reached 100% training accuracy in 800; Fashion-MNIST stopped at the cap at
           98.9%), then 16 ellipses of each kind, 3,072 samples per loop in 64 bins.
Result:    [old protocol, as above]
           figures/trajectories_<dataset>.png|pdf; on the small preset
           C3 (‖J‖ far lower at training points) holds on MNIST: log10(random-ellipse mean /
              anchor mean) 1.43 [1.05, 2.05]; does not hold on Fashion-MNIST, 1.21 [0.97, 1.59]
              (the rule asks for an interval above one order of magnitude);
           C4 (more sensitive between classes) holds on both: different - same class
              transitions per loop 548 [414, 695] and 463 [362, 566]; mean log10 ‖J‖ 2.32
              [0.19, 4.53] and 1.23 [0.31, 2.14].
Quick:     bin/reproduce --experiment=trajectories --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("trajectories", preset)
