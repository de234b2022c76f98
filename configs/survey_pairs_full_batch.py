"""Paired factor study: full batch (docs/method.md §4; claims C10, C13).

Command:   bin/survey --config=configs/survey_pairs_full_batch.py --preset=small [--dataset=mnist]
Design:    pairs of networks identical in every hyperparameter and seed except the factor, the
           rest drawn from the default space. "bad" variant: full-batch training; "good"
           variant: the drawn mini-batch size (32, 128 or 512).
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           tiny: 2 pairs, about 10 s; small: 24 pairs (48 networks) on a 1,000-example subset,
           212 s wall (measured on this project's 2-core machine (2026-11-27, Fashion-MNIST));
           paper: 250 pairs on full data.
Result:    [old protocol, as above]
           rows with pair_id / pair_role (bad, good): the input of the factors figure. Small,
           measured (Wilson 95% intervals): 48 ok; with full batch the gap is higher in 0.54
           [0.35, 0.72] of pairs, ‖J‖ in 0.67 [0.47, 0.82], transitions in 0.08 [0.02, 0.26].
Quick:     bin/survey --config=configs/survey_pairs_full_batch.py --preset=tiny
Name:      the study `pairs_full_batch`; bin/reproduce's experiments run this same study under
           the same name (configs/_common.py builds both), so its networks
           have the same identities (run-directory hashes) in both.
Protocol:  every network trains for the preset's budget of optimizer steps
           (stop_rule=budget; see configs/_common.py).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.pairs_study("full_batch", preset)
