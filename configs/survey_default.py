"""The default survey of SPEC §2: networks drawn at random from the whole space.

Command:   bin/survey --config=configs/survey_default.py --preset=small [--dataset=mnist]
Space:     depth 1-4, width 64-512 (paper preset: to 1024), ReLU / ReLU6 / hard tanh / hard
           sigmoid, SGD / momentum / Adam / RMSProp with log-uniform learning rates, batch
           32 / 128 / 512 / full, sigma_w^2 in {1, 2}, random labels (p = 1/4) and
           augmentation (p = 1/2) as factors; trained to 100% training accuracy or the cap.
Runtime:   tiny: 4 networks, 10 s; small: 60 networks on a 1,000-example subset, about
           8 min (452-478 networks/hour measured with benchmarks/survey_throughput.py on this
           project's 2-core machine); paper: 2,000 networks on full data (a cluster).
Result:    one row per network in <results_dir>/table (gap, ‖J‖, transitions, ...), the
           input of the correlation and capacity figures (bin/reproduce).
Quick:     bin/survey --config=configs/survey_default.py --preset=tiny
"""

from sensitivity_tf.survey import study


def get_config(preset="small"):
  return study.make_study("default", "random", preset)
