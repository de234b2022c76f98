"""Paired factor study: full batch (docs/method.md §4; claims C10, C13).

Command:   bin/survey --config=configs/survey_pairs_full_batch.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: full-batch training; "good"
           variant: the drawn mini-batch size (32, 128 or 512).
Runtime:   small, measured on this project's 2-core machine (2026-11-30, as the study inside
           bin/reproduce, grown to 30 pairs): 26.9 min of network time on MNIST, 25.0 on
           Fashion-MNIST; bin/survey alone trains the first 20 pairs (about two thirds of that).
           tiny: 3 pairs, seconds. paper: 250 pairs on full data (a cluster).
Result:    one row per network in <results_dir>/table with pair_id / pair_role (bad, good): the
           input of the factors experiment; committed at the small preset:
           docs/figures/tables/<dataset>/pairs_full_batch-<hash>.csv (read in docs/results.md).
Quick:     bin/survey --config=configs/survey_pairs_full_batch.py --preset=tiny
Name:      the study `pairs_full_batch`; bin/reproduce runs the same study (same run directories).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.pairs_study("full_batch", preset)
