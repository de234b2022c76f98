"""Reproduce the paper's factors experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=factors --preset=small [--data_dir=DATA_DIR]
           One factor, or some, in a given order (C13 then pools only their pairs and says so):
           bin/reproduce --config=configs/reproduce_factors.py --preset=small \
             --config.factors=random_labels,nonlinearity
Trains:    the four `pairs_<factor>` studies per dataset: 20 pairs each at the small preset,
           grown by 10 up to 30 until 20 are fair (both partners at 100%), more pairs drawn
           from the same space; both partners train the same 3,000-step budget.
Runtime:   small, under the budget protocol, measured on this project's 2-core machine
           (2026-11-30, a day it ran TensorFlow 2.9x slower than 2026-11-27): MNIST, all four
           studies grew to their cap of 30 pairs: 240 networks, 32.7 + 26.9 + 24.0 + 22.4
           min of network time (augmentation, full batch, nonlinearity, random labels),
           106 min wall (--dry_run had estimated at most 114); Fashion-MNIST, all four
           grew to 30 pairs: 240 networks, 29.0 + 25.0 + 23.4 + 19.3 min, 97 min wall in two
           pieces of two factors (--config.factors); CIFAR-10, all four grew to 30 pairs:
           240 networks, 26.0 + 14.9 + 15.5 + 13.6 min, about 70 min wall in three pieces.
           Old protocol (networks stopped at their first fit, 2026-11-27): 41.4 min from
           scratch for 4 studies x 20 pairs x 3 datasets = 480 networks.
Result:    figures/factors_<dataset>.png|pdf. Small preset, budget protocol, MNIST, verdicts
           on fair pairs (both partners at 100%); a verdict needs 20 of them:
           C8 (random labels raise ‖J‖): not enough data, 19 fair pairs, though ‖J‖ is
              higher with random labels in all 19 (1.00 [0.83, 1.00]); mean random-label
              gap 0.892 (paper ≈ 0.9);
           C9 (augmentation lowers gap, ‖J‖ and transitions): not enough data, 12 fair
              pairs: the gap drops in all (1.00 [0.76, 1.00]) but ‖J‖ only in 0.67 [0.39,
              0.86] and transitions rise (0.17 [0.05, 0.45] of pairs higher without);
           C10 (full batch raises ‖J‖ and gap) holds: 22 fair pairs, ‖J‖ 0.95 [0.78, 0.99],
              gap 0.86 [0.67, 0.95] (small effects: median Δgap 0.004);
           C11 (ReLU lowest) holds: 22 fair pairs, ‖J‖ 0.73 [0.52, 0.87], gap 0.86
              [0.67, 0.95]; at 100%: ReLU 26/30, hard tanh 9/10, ReLU6 7/9, hard sigmoid 6/11;
           C13 (Δgap and Δ‖J‖ agree) holds: 0.85 [0.76, 0.92] of 75 fair pairs.
           Fashion-MNIST fits less often in the 3,000 steps: fair pairs random labels 15,
           augmentation 4, full batch 15, nonlinearity 17, so C8-C11 are not enough data
           there (shares 1.00, gap 1.00 / ‖J‖ 0.25, ‖J‖ 0.93 / gap 0.80, ‖J‖ 0.53 / gap
           0.41); C13 holds, 0.78 [0.65, 0.88] of 51 fair pairs. CIFAR-10 (500 examples)
           likewise: fair pairs random labels 11, augmentation 0 (no augmented network fit),
           full batch 11, nonlinearity 12, so C8-C11 are not enough data (shares ‖J‖ 1.00,
           none, ‖J‖ 1.00 / gap 0.82, ‖J‖ 0.75 / gap 0.42); C13 holds, 0.71 [0.54, 0.83]
           of 34 fair pairs.
           Old protocol, 20 pairs per factor, all pairs: C8 held on Fashion-MNIST and MNIST,
           not CIFAR-10; C9 on none; C10 on CIFAR-10 only; C11 on MNIST only; C13 on all three.
Quick:     bin/reproduce --experiment=factors --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("factors", preset)
