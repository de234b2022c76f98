"""Reproduce the paper's factors experiment (Figure 5; docs/method.md §5): claims C8-C11, C13.

Command:   bin/reproduce --experiment=factors --preset=small [--data_dir=DATA_DIR]
           One factor, or some, in a given order (C13 then pools only their pairs and says so):
           bin/reproduce --config=configs/reproduce_factors.py --preset=small \
             --config.factors=random_labels,nonlinearity
           Every core: add --local_workers=N (docs/surveys.md).
Trains:    the four `pairs_<factor>` studies per dataset (configs/survey_pairs_*.py; small:
           20 pairs each, grown by 10 up to 60 until 20 are fair, i.e. both partners at
           100%; the cap and its reason: configs/_common.py), more pairs drawn from the same
           space; both partners train the same 3,000-step budget. Each pair's gap difference
           is tested for noise (exact McNemar on the shared test points, docs/method.md §6).
Runtime:   small, with the earlier cap of 30 pairs, measured on this project's 2-core
           machine (2026-11-30, a day it ran TensorFlow 2.9x slower than 2026-11-27): every
           study grew to its cap of 30 pairs,
           240 networks per dataset; MNIST 106 min wall, Fashion-MNIST 97 min, CIFAR-10
           about 70 min, each in pieces of one or two factors (--config.factors). With the
           cap of 60 pairs and the default 2 local workers (2026-12-04): MNIST 300 networks
           (random labels 40 pairs, augmentation 50, full batch 30, nonlinearity 30), 169 min
           of network time in 89 min wall, one piece per factor; Fashion-MNIST 400 networks
           (random labels 50, augmentation 60 = its cap, full batch 50, nonlinearity 40), 214
           min of network time in 112 min wall (a test run shared the machine for 25 min);
           CIFAR-10 480 networks (every study at its cap of 60 pairs), 203 min of network
           time; full batch 25 min wall, nonlinearity 22, augmentation 37 (0.58 min of
           network time per network against 0.35-0.39 for the others), random labels 17 min
           after it was resumed with 28 of its 120 networks done (a stopped first run).
           The re-analysis of MNIST and Fashion-MNIST, with the whole-test-set pair tests
           computed once (a forward pass per fair partner, then cached): 2.7 min; of all
           three datasets with those cached: 44 s.
Result:    figures/factors_<dataset>.png|pdf and the claims C8-C11 and C13 in claims.md /
           claims.json under results/reproduce/<preset>/; the small preset's committed results
           are in docs/figures/ (claims report: docs/figures/claims.md), those of 2026-12-04
           under the noise-aware rules, on all three datasets, in docs/figures-2026-12-04/ (C8
           holds on all three; C10 not enough data on all three: too few gap differences
           significant on the 1,000 evaluated points; C13 holds on MNIST and Fashion-MNIST,
           not on CIFAR-10, where ReLU lowers ‖J‖ but not the gap);
           commentary, with what differs from the paper: docs/results.md.
Quick:     bin/reproduce --experiment=factors --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py



def get_config(preset="small"):
  preset = common.preset_name(preset)
  # `factors`: which factor studies to run and judge, in this order (comma-separated); all
  # four by default. Fewer (say --config.factors=random_labels) run only those, and C13 then
  # pools only their pairs, which its report names.
  return common.experiment(
      "factors", preset, with_cifar=True,
      pairs={f: common.pairs_study(f, preset) for f in common.design_lib.FACTORS},
      factors=",".join(common.design_lib.FACTORS),
      growth=common.SIZES[preset]["pair_growth"])
