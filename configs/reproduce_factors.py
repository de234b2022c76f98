"""Reproduce the paper's factors experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=factors --preset=small [--data_dir=DATA_DIR]
           One factor, or some, in a given order (C13 then pools only their pairs and says so):
           bin/reproduce --config=configs/reproduce_factors.py --preset=small \
             --config.factors=random_labels,nonlinearity
Trains:    the four `pairs_<factor>` studies per dataset: 20 pairs each at the small preset,
           grown by 10 up to 30 until 20 are fair (both partners at 100%), more pairs drawn
           from the same space; both partners train the same 3,000-step budget.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): 41.4 min from
           scratch: 4 paired studies x 20 pairs x 3 datasets = 480 networks (CIFAR-10: 21.9 min
           of it).
Result:    [old protocol, as above]
           figures/factors_<dataset>.png|pdf; on the small preset (20 pairs per factor)
           C8 (random labels raise ‖J‖) holds on Fashion-MNIST (share above 0.75 [0.53, 0.89])
              and MNIST (0.80 [0.58, 0.92]), not on CIFAR-10 (0.30 [0.15, 0.52]);
           C9 (augmentation lowers gap, ‖J‖ and transitions) does not hold on any: the gap
              drops (0.80-0.95 of pairs) but ‖J‖ and transitions do not;
           C10 (full batch raises ‖J‖ and gap) holds on CIFAR-10 only;
           C11 (ReLU lowest) holds on MNIST only;
           C13 (Δgap and Δ‖J‖ agree) holds on all three: 0.69, 0.68, 0.80 of pairs.
Quick:     bin/reproduce --experiment=factors --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("factors", preset)
