"""Paired factor study: random labels (docs/method.md §4; claims C8, C13).

Command:   bin/survey --config=configs/survey_pairs_random_labels.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: every training label replaced by a
           uniformly random class (fraction 1); "good" variant: the true labels.
Runtime:   tiny: 2 pairs, about 10 s; small: 24 pairs (48 networks) on a 1,000-example subset,
           218 s wall (measured on this project's 2-core machine (2026-11-27, Fashion-MNIST));
           paper: 250 pairs on full data.
Result:    rows with pair_id / pair_role (bad, good): the input of the factors figure. Small,
           measured (Wilson 95% intervals): 48 ok; the random-label network's gap is above its
           twin's in 0.96 [0.80, 0.99] of pairs, its ‖J‖ in 0.79 [0.60, 0.91], its transitions
           in 0.33 [0.18, 0.53].
Quick:     bin/survey --config=configs/survey_pairs_random_labels.py --preset=tiny
"""

from sensitivity_tf.survey import study


def get_config(preset="small"):
  return study.make_study("pairs_random_labels", "pairs", preset, factor="random_labels")
