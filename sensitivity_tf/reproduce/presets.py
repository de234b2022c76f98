"""Experiment configs by preset: what ``configs/reproduce_<experiment>.py`` return.

Datasets per preset: ``tiny`` (tests) runs Fashion-MNIST only; ``small`` runs Fashion-MNIST
and MNIST for every experiment and the CIFAR-10 JPEG copy too for ``correlation`` and
``factors``; ``paper`` runs all four datasets where the paper does.
"""

from __future__ import annotations

import ml_collections

from sensitivity_tf.survey import study as study_lib

DATASETS = {
    "tiny": ["fashion_mnist"],
    "small": ["fashion_mnist", "mnist"],
    "paper": ["mnist", "fashion_mnist", "cifar10", "cifar100"],
}
WITH_CIFAR = ("correlation", "factors")

TRAJECTORY_NETWORK = {
    "tiny": dict(depth=2, width=32, train_subset=500, max_steps=100, eval_every=50),
    "small": dict(depth=2, width=512, train_subset=10000, max_steps=4000, eval_every=200),
    "paper": dict(depth=2, width=512, train_subset=0, max_steps=50000, eval_every=0),
}
TRAJECTORY_EVALUATION = {
    "tiny": dict(test_points=200, num_samples=96, bins=16, ellipses_per_kind=4,
                 ellipse_jacobian_samples=24, test_point_ellipses=0),
    "small": dict(test_points=1000, ellipses_per_kind=16, test_point_ellipses=0),
    "paper": dict(ellipses_per_kind=32, test_point_ellipses=0),
}
REGIONS_NETWORK = {
    "tiny": dict(depth=2, width=16, train_subset=300, max_steps=100, eval_every=50),
    "small": dict(depth=3, width=128, train_subset=2000, max_steps=3000, eval_every=100),
    "paper": dict(depth=3, width=128, train_subset=0, max_steps=50000, eval_every=0),
}
REGIONS_GRID = {"tiny": dict(num_slices=2, resolution=48), "small": dict(num_slices=12,
                resolution=200), "paper": dict(num_slices=32, resolution=400)}


def experiment_config(experiment: str, preset: str) -> ml_collections.ConfigDict:
  preset = study_lib.preset_name(preset)
  datasets = list(DATASETS[preset])
  if preset == "small" and experiment in WITH_CIFAR:
    datasets.append("cifar10")
  if preset == "paper" and experiment in ("trajectories", "regions"):
    datasets = ["mnist"]
  cfg = dict(experiment=experiment, preset=preset, datasets=datasets, num_bootstrap=1000,
             seed=0)
  if experiment == "trajectories":
    cfg.update(network=TRAJECTORY_NETWORK[preset], evaluation=TRAJECTORY_EVALUATION[preset])
  if experiment == "regions":
    cfg.update(network=REGIONS_NETWORK[preset], **REGIONS_GRID[preset])
  if experiment == "correlation":
    cfg.update(grid_datasets=datasets[:1])
  return ml_collections.ConfigDict(cfg)
