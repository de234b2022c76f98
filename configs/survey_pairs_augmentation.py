"""Paired factor study: augmentation (docs/method.md §4; claims C9, C13).

Command:   bin/survey --config=configs/survey_pairs_augmentation.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: no augmentation; "good" variant:
           on-the-fly augmentation (translations of +-2 px; +-4 px and flips on CIFAR).
Runtime:   small, measured on this project's 2-core machine (2026-11-30, as the study inside
           bin/reproduce, grown to 30 pairs): 32.7 min of network time on MNIST, 29.0 on
           Fashion-MNIST; bin/survey alone trains the first 20 pairs (about two thirds of that).
           tiny: 3 pairs, seconds. paper: 250 pairs on full data (a cluster).
Result:    one row per network in <results_dir>/table with pair_id / pair_role (bad, good): the
           input of the factors experiment; committed at the small preset:
           docs/figures/tables/<dataset>/pairs_augmentation-<hash>.csv (read in docs/results.md).
Quick:     bin/survey --config=configs/survey_pairs_augmentation.py --preset=tiny
Name:      the study `pairs_augmentation`; bin/reproduce runs the same study (same run directories).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.pairs_study("augmentation", preset)
