"""The surveys the reproduction runs, one definition shared by every experiment that reads
them (so capacity, correlation and points read one survey and train it once).

* ``survey``: networks drawn from the docs/method.md §4 space (random design). The correlation-type
  experiments keep those at 100% training accuracy, so the study grows ``step`` networks
  at a time until ``min_converged`` of them got there, or ``max_models`` (``GROWTH``).
  Small preset [ours, a documented deviation]: 1,000 training examples, batch sizes
  {32, 128, full} (512 would drop half the subset each epoch), at most 2,000 steps; on
  CIFAR, widths up to 256, 500 training examples and at most 3,000 steps (CIFAR images
  are harder to memorize); the study grows 40 networks at a time to at most 200.
* ``pairs_<factor>``: the four paired factor studies; at the small preset 20 pairs each, at
  most 1,500 steps, without a 100%-accuracy filter (as the paper's factor figures).
* ``grid``: the factorial grid study, for the granulated Kendall coefficient Ψ.
"""

from __future__ import annotations

from sensitivity_tf.survey import design
from sensitivity_tf.survey import study as study_lib

GROWTH = dict(tiny=dict(min_converged=4, max_models=8, step=4),
              small=dict(min_converged=30, max_models=200, step=40),
              paper=dict(min_converged=1000, max_models=4000, step=500))


def survey(preset: str, dataset: str):
  preset = study_lib.preset_name(preset)
  s = study_lib.make_study("survey", "random", preset, dataset=dataset)
  if preset == "small":
    s.space.batch_size = [32, 128, 0]
    s.num_models = 40
    _small_cifar(s, dataset)
    if dataset.startswith("cifar"):
      # 1,000 CIFAR images in 2,000 steps: 20 of 200 networks reached 100% (none with
      # batch 32); 500 images and 3,000 steps give mini-batches 3-6x more epochs.
      s.fixed.train_subset, s.fixed.max_steps = 500, 3000
  if preset == "tiny":  # networks that reach 100% in seconds, so every code path runs
    s.fixed.train_subset, s.fixed.max_steps = 200, 300
    s.space.optimizer = ["adam", "rmsprop"]
    s.space.random_label_fraction = {"choices": [0.0, 1.0], "weights": [0.8, 0.2]}
    s.space.augment = {"choices": [False], "weights": [1.0]}
  return s


def pairs(preset: str, dataset: str, factor: str):
  preset = study_lib.preset_name(preset)
  s = study_lib.make_study(f"pairs_{factor}", "pairs", preset, dataset=dataset, factor=factor)
  if preset == "small":
    s.num_pairs = 20
    s.fixed.max_steps = 1500
    if factor != "full_batch":
      s.space.batch_size = [32, 128, 0]
    _small_cifar(s, dataset)
  return s


def _small_cifar(s, dataset: str) -> None:
  """CIFAR inputs are 4x wider: at the small preset, widths up to 256 keep a CIFAR network
  near the cost of an MNIST one [ours]."""
  if dataset.startswith("cifar"):
    s.space.width = [64, 128, 256]


def grid(preset: str, dataset: str):
  return study_lib.grid_study(preset, dataset)


FACTORS = tuple(design.FACTORS)


def converged(rows, dataset: str):
  """Networks that reached 100% training accuracy (99.9% for CIFAR-100 [ours, from
  memory of the paper]): the population of the paper's correlation figures."""
  threshold = 0.999 if dataset == "cifar100" else 1.0
  return rows[(rows.status == "ok") & (rows.train_accuracy >= threshold)].reset_index(drop=True)


def converged_survey(ws, dataset: str):
  """The survey of ``dataset``, grown until enough networks converged; (rows, converged)."""
  preset = study_lib.preset_name(ws.preset)
  growth = GROWTH[preset]
  rows = ws.grow_study(survey(preset, dataset),
                       enough=lambda r: len(converged(r, dataset)) >= growth["min_converged"],
                       max_models=growth["max_models"], step=growth["step"])
  return rows, converged(rows, dataset)
