"""Paired factor study: nonlinearity (docs/method.md §4; claims C11, C13).

Command:   bin/survey --config=configs/survey_pairs_nonlinearity.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: a drawn non-ReLU nonlinearity
           (ReLU6, hard tanh or hard sigmoid); "good" variant: ReLU.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           tiny: 2 pairs, about 10 s; small: 24 pairs (48 networks) on a 1,000-example subset,
           172 s wall (measured on this project's 2-core machine (2026-11-27, Fashion-MNIST));
           paper: 250 pairs on full data.
Result:    [old protocol, as above]
           rows with pair_id / pair_role (bad, good): the input of the factors figure. Small,
           measured (Wilson 95% intervals): 48 ok; with the other nonlinearity the gap is
           higher in 0.50 [0.31, 0.69] of pairs, ‖J‖ in 0.62 [0.43, 0.79], transitions in 0.75
           [0.55, 0.88].
Quick:     bin/survey --config=configs/survey_pairs_nonlinearity.py --preset=tiny
Name:      the study `pairs_nonlinearity`; bin/reproduce's experiments run this same study under
           the same name (configs/_common.py builds both), so its networks
           have the same identities (run-directory hashes) in both.
Protocol:  every network trains for the preset's budget of optimizer steps
           (stop_rule=budget; see configs/_common.py).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.pairs_study("nonlinearity", preset)
