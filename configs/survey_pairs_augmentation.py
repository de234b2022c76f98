"""Paired factor study: augmentation (docs/method.md §4; claims C9, C13).

Command:   bin/survey --config=configs/survey_pairs_augmentation.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: no augmentation; "good" variant:
           on-the-fly augmentation (translations of +-2 px; +-4 px and flips on CIFAR).
Runtime:   tiny: 2 pairs, about 10 s; small: 24 pairs (48 networks) on a 1,000-example subset,
           346 s wall (measured on this project's 2-core machine (2026-11-27, Fashion-MNIST));
           paper: 250 pairs on full data.
Result:    rows with pair_id / pair_role (bad, good): the input of the factors figure. Small,
           measured (Wilson 95% intervals): 48 ok; without augmentation the gap is higher in
           0.88 [0.69, 0.96] of pairs, ‖J‖ in 0.50 [0.31, 0.69], transitions in 0.17 [0.07,
           0.36].
Quick:     bin/survey --config=configs/survey_pairs_augmentation.py --preset=tiny
"""

from sensitivity_tf.survey import study


def get_config(preset="small"):
  return study.make_study("pairs_augmentation", "pairs", preset, factor="augmentation")
