"""Reproduce the paper's capacity experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=capacity --preset=small [--data_dir=DATA_DIR]
Trains:    the `default` survey (configs/_common.py) per dataset at the small preset: 40
           networks, grown by 40 up to 120 until 30 reached 100% training accuracy, each a
           budget of 3,000 optimizer steps on 1,000 examples (CIFAR-10: 500).
Runtime:   small, measured on this project's 2-core machine (2026-11-30, a day it ran
           TensorFlow about 2.9x slower than 2026-11-27): the two random surveys it trains,
           Fashion-MNIST 120 networks (51 min of network time; 31 at 100% training accuracy,
           so it grew to its cap), MNIST 80 networks (29.7 min; 40 at 100%). Redrawing: seconds.
Result:    figures/capacity_<dataset>.png|pdf; on the small preset
           C1 (larger nets no worse) holds on both: Spearman ρ(#weights, gap) -0.62 [-0.82,
              -0.35] on Fashion-MNIST, -0.08 [-0.39, 0.24] on MNIST;
           C2 (train loss does not predict the gap) does not hold on Fashion-MNIST, ρ(log
              loss, gap) 0.56 [0.24, 0.76] (the four random-label networks that fit sit at
              high losses and gaps near 0.9), holds on MNIST, 0.20 [-0.11, 0.46].
           Old protocol (stop at the first fit, 2026-11-27): C1 -0.44 and -0.15, holds; C2
              0.44 and 0.48, does not hold on either.
Quick:     bin/reproduce --experiment=capacity --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("capacity", preset)
