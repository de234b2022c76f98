"""The default survey of docs/method.md §4: networks drawn at random from the whole space.

Command:   bin/survey --config=configs/survey_default.py --preset=small [--dataset=mnist]
Space:     depth 1-4, width 64-512 (paper preset: to 1024), ReLU / ReLU6 / hard tanh / hard
           sigmoid, SGD / momentum / Adam / RMSProp with log-uniform learning rates, batch
           32 / 128 / 512 / full (small: 32 / 128 / full), sigma_w^2 in {1, 2}, random labels
           (p = 1/4) and augmentation (p = 1/2) as factors; each trained for the preset's
           budget of optimizer steps.
Runtime:   small, measured on this project's 2-core machine (2026-11-30, as the study
           inside bin/reproduce, which grows it past its first 40 networks): Fashion-MNIST 120
           networks in 51 min of network time, MNIST 80 in 29.7 min, CIFAR-10 120 in 50.3 min;
           bin/survey alone trains the first 40 (about a third of that). tiny: 6 networks,
           seconds. paper: 2,000 networks on full data (a cluster).
Result:    one row per network in <results_dir>/table (gap, ‖J‖, transitions, ...): the input of
           the capacity, correlation and points experiments; the committed small-preset tables
           are docs/figures/tables/<dataset>/default-<hash>.csv, and what they show is in
           docs/figures/claims.md and docs/results.md.
Quick:     bin/survey --config=configs/survey_default.py --preset=tiny
Name:      the study `default`; bin/reproduce runs the same study (same run directories).
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.default_survey(preset)
