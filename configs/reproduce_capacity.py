"""Reproduce the paper's capacity experiment (Figure 1; docs/method.md §5): claims C1, C2.

Command:   bin/reproduce --experiment=capacity --preset=small [--data_dir=DATA_DIR]
Trains:    the `default` random survey per dataset (configs/survey_default.py; small:
           Fashion-MNIST, MNIST and CIFAR-10, the paper's Figure 1 dataset; 40
           networks, grown by 40 up to 120 until 30 reached 100% training accuracy, each a
           budget of 3,000 optimizer steps on 1,000 examples, CIFAR-10 500). CIFAR-10's survey
           is the correlation experiment's (120 networks, 50.3 min on 2026-11-30; 39 min wall
           with the default 2 local workers on 2026-12-04: C1 holds, C2 holds borderline).
Runtime:   small, measured on this project's 2-core machine (2026-11-30): Fashion-MNIST 120
           networks, 51 min of network time; MNIST 80 networks, 29.7 min. 2026-12-04 with the
           default 2 local workers: MNIST 80 networks, 41.2 min of network time in 21.7 min
           wall. Redrawing: seconds.
Result:    figures/capacity_<dataset>.png|pdf and the claims C1 and C2 in claims.md /
           claims.json under results/reproduce/<preset>/; the small preset's committed results
           are in docs/figures-2026-12-04/ (2026-11-30's in docs/figures/; commentary, with
           what differs from the paper: docs/results.md). Small, 2026-12-04: C1 holds on all
           three datasets (borderline on MNIST, where it fails on true-label networks alone);
           C2 holds on MNIST and CIFAR-10 (both borderline), not on Fashion-MNIST.
Quick:     bin/reproduce --experiment=capacity --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py



def get_config(preset="small"):
  # CIFAR-10 too at the small preset: the paper's Figure 1 is CIFAR-10 (its survey is the
  # correlation experiment's, trained once).
  return common.survey_experiment("capacity", preset, with_cifar=True)
