"""Reproduce the paper's trajectories experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=trajectories --preset=small [--data_dir=DATA_DIR]
Trains:    one 784-512x2-10 ReLU network per dataset on 5,000 examples (small), a budget of
           8,000 steps (205 epochs at batch 128); no verdict if it ends short of 100%.
Runtime:   small, measured on this project's 2-core machine (2026-11-30, data from local
           copies): 2.2 min from scratch for both datasets: each network trains its 8,000
           steps and passes 100% training accuracy long before (first fit at step 2,800 on
           Fashion-MNIST, 400 on MNIST; final train loss 1.2e-5 and 4.4e-7, against 1.7e-3
           and 3.0e-3 at the first fit; test accuracy 0.852 and 0.953), then 16 ellipses of
           each kind, 3,072 samples per loop in 64 bins.
Result:    figures/trajectories_<dataset>.png|pdf; on the small preset
           C3 (‖J‖ far lower at training points) holds on both: log10(random-ellipse mean /
              anchor mean) 3.69 [3.49, 3.99] on Fashion-MNIST, 4.34 [3.94, 4.73] on MNIST
              (anchors 1.0e-3 and 2.7e-5; the paper's MNIST figure: ~1e-2...1e-4); under the
              old protocol (stop at the first fit) 1.21 [0.97, 1.59] and 1.43 [1.05, 2.05];
           C4 (more sensitive between classes) holds on both: different - same class
              transitions per loop 459 [319, 611] and 346 [261, 429]; mean log10 ‖J‖ 2.74
              [0.32, 5.26] and 1.37 [0.07, 2.63].
Quick:     bin/reproduce --experiment=trajectories --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("trajectories", preset)
