"""The default survey of docs/method.md §4: networks drawn at random from the whole space.

Command:   bin/survey --config=configs/survey_default.py --preset=small [--dataset=mnist]
Space:     depth 1-4, width 64-512 (paper preset: to 1024), ReLU / ReLU6 / hard tanh / hard
           sigmoid, SGD / momentum / Adam / RMSProp with log-uniform learning rates, batch
           32 / 128 / 512 / full (small: 32 / 128 / full), sigma_w^2 in {1, 2}, random labels
           (p = 1/4) and augmentation (p = 1/2) as factors; each trained for the preset's
           budget of optimizer steps.
Runtime:   [measured under the old protocol (networks stopped at their first fit); to be
           replaced by the rerun]
           tiny: 4 networks, 10 s; small: 60 networks on a 1,000-example subset, 6.8 min
           measured on this project's 2-core machine (2026-11-27, Fashion-MNIST): 409 s wall,
           93% of it training; paper: 2,000 networks on full data (a cluster).
Result:    [old protocol, as above]
           one row per network in <results_dir>/table (gap, ‖J‖, transitions, ...), the input
           of the correlation and capacity figures (bin/reproduce). Small, measured: 60 ok, 18
           at 100% training accuracy, median test accuracy 0.778, median gap 0.181; among the
           18, log10 ‖J‖ vs gap Pearson 0.92 [0.46, 0.97], Spearman 0.64 [0.11, 0.95].
Quick:     bin/survey --config=configs/survey_default.py --preset=tiny
Name:      the study `default`; bin/reproduce's experiments run this same study under
           the same name (configs/_common.py builds both), so its networks
           have the same identities (run-directory hashes) in both.
Protocol:  every network trains for the preset's budget of optimizer steps
           (stop_rule=budget; see configs/_common.py).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.default_survey(preset)
