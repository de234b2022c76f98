"""Paired factor study: random labels (docs/method.md §4; claims C8, C13).

Command:   bin/survey --config=configs/survey_pairs_random_labels.py --preset=small \
             [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: every training label replaced by a
           uniformly random class (fraction 1); "good" variant: the true labels.
Runtime:   small, measured on this project's 2-core machine (2026-11-30, as the study inside
           bin/reproduce, grown to 30 pairs): 22.4 min of network time on MNIST, 19.3 on
           Fashion-MNIST; bin/survey alone trains the first 20 pairs (about two thirds of that).
           tiny: 3 pairs, seconds. paper: 250 pairs on full data (a cluster).
Result:    one row per network in <results_dir>/table with pair_id / pair_role (bad, good): the
           input of the factors experiment; the committed small-preset tables are
           docs/figures/tables/<dataset>/pairs_random_labels-<hash>.csv, and what they show is
           in docs/figures/claims.md and docs/results.md.
Quick:     bin/survey --config=configs/survey_pairs_random_labels.py --preset=tiny
Name:      the study `pairs_random_labels`; bin/reproduce runs the same study (same run
           directories).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.pairs_study("random_labels", preset)
