"""Reproduce the paper's regions experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=regions --preset=small [--data_dir=DATA_DIR]
Trains:    one 784-128x3-10 ReLU network per dataset on 2,000 examples (small), a budget of
           6,000 steps (384 epochs at batch 128); no verdict if it ends short of 100%.
Runtime:   small, measured on this project's 2-core machine (2026-11-30): 2.4 min from
           scratch for both datasets: the two 784-128x3-10 networks train their 6,000 steps
           (2,000 examples; first fit at step 1,000 and 400, final train loss 4.6e-6 and
           2.6e-6), then 12 slices of 200x200 codes per dataset.
Result:    figures/regions_<dataset>.png|pdf; on the small preset
           C5 (training points in low code-change density after training): holds on
              Fashion-MNIST, share of anchors below the disc density 0.67 [0.50, 0.80] (36
              anchors; the rule asks for an interval above 1/2); does not hold on MNIST,
              0.42 [0.27, 0.58]; mean density ratios after training 0.92 and 1.11 (before
              0.96 and 0.94). Training still leaves fewer last-layer regions per slice than
              at initialisation (MNIST: 2,173 before, 1,163 after, mean of 12 slices), unlike
              the paper's Figure 3: a finding of this preset, not tuned away. Under the old
              protocol C5 did not hold on either (0.61 [0.45, 0.75], 0.58 [0.42, 0.73]).
           Second seed (--config.seed=1: other anchors and slices, same network config):
              C5 does not hold on either, 0.56 [0.40, 0.70] and 0.61 [0.45, 0.75]: the
              Fashion-MNIST verdict depends on the anchors drawn.
Quick:     bin/reproduce --experiment=regions --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("regions", preset)
