"""Paired factor study: augmentation (SPEC §2; claims C9, C13).

Command:   bin/survey --config=configs/survey_pairs_augmentation.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor,
           the rest drawn from the default space. "bad" variant: no augmentation;
           "good" variant: on-the-fly augmentation (translations of +-2 px; +-4 px and flips on CIFAR).
Runtime:   tiny: 2 pairs, about 10 s; small: 24 pairs (48 networks) on a 1,000-example
           subset, about 6 min (estimated from the 452-478 networks/hour measured for the
           default study on this project's 2-core machine); paper: 250 pairs on full data.
Result:    rows with pair_id / pair_role (bad, good): the input of the factors figure.
Quick:     bin/survey --config=configs/survey_pairs_augmentation.py --preset=tiny
"""

from sensitivity_tf.survey import study


def get_config(preset="small"):
  return study.make_study("pairs_augmentation", "pairs", preset, factor="augmentation")
