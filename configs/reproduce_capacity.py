"""Reproduce the paper's capacity experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=capacity --preset=small [--data_dir=DATA_DIR]
Trains:    the `default` survey (configs/_common.py) per dataset at the small preset: 40
           networks, grown by 40 up to 120 until 30 reached 100% training accuracy, each a
           budget of 3,000 optimizer steps on 1,000 examples (CIFAR-10: 500).
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           small, measured on this project's 2-core machine (2026-11-27): 24.4 min from
           scratch, all of it the two random surveys it trains (Fashion-MNIST 160 networks,
           17.6 min, 35 at 100% training accuracy; MNIST 80 networks, 6.7 min, 36 at 100%; the
           surveys grow 40 networks at a time until 30 reach 100%). Redrawing: seconds.
Result:    [old protocol, as above]
           figures/capacity_<dataset>.png|pdf; on the small preset
           C1 (larger nets no worse) holds on both: Spearman ρ(#weights, gap) -0.44 [-0.71, -0.11]
              on Fashion-MNIST, -0.15 [-0.48, 0.16] on MNIST;
           C2 (train loss does not predict the gap) does not hold on either: ρ(log loss, gap)
              0.44 [0.15, 0.64] and 0.48 [0.17, 0.71] (the three random-label networks that
              reach 100% sit at the highest loss and gap).
Quick:     bin/reproduce --experiment=capacity --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("capacity", preset)
