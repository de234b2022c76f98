"""Search spaces: what a survey varies, and how a configuration is drawn from a seed.

A space maps training-config fields (`sensitivity_tf.train.train_config.FIELDS`) to one of

* a list of choices, drawn uniformly: ``[1, 2, 3, 4]``;
* ``{"choices": [...], "weights": [...]}``, drawn with those probabilities;
* ``{"log_uniform": [low, high]}``, log-uniform on [low, high];
* ``{"log_uniform_by": "optimizer", "ranges": {"sgd": [1e-3, 1e-1], ...}}``, log-uniform
  on a range that depends on an already drawn field (the learning rate of docs/method.md §4 depends
  on the optimizer).

Fields are drawn in sorted order of their names, fields that depend on another after all
the others, each from one `numpy.random.Generator`, so a survey's whole list of
configurations is a pure function of its seed (and not of the order a config file, or a
``ConfigDict``, lists them in).

The default space of docs/method.md §4 [ours, the paper's grid is unpublished]: depth {1, 2, 3, 4};
width {64, 128, 256, 512, 1024}; nonlinearity {relu, relu6, hard_tanh, hard_sigmoid};
optimizer {sgd, momentum, adam, rmsprop}; learning rate log-uniform per optimizer
(sgd/momentum 1e-3 … 1e-1, adam/rmsprop 1e-4 … 1e-2); batch size {32, 128, 512, full};
σ_w² ∈ {1, 2}; random labels (fraction 1) with probability 1/4 and augmentation with
probability 1/2 as factors.
"""

from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from sensitivity_tf.train import train_config

LEARNING_RATE_RANGES = {"sgd": [1e-3, 1e-1], "momentum": [1e-3, 1e-1],
                        "adam": [1e-4, 1e-2], "rmsprop": [1e-4, 1e-2]}


def default_space() -> Dict[str, Any]:
  return {
      "depth": [1, 2, 3, 4],
      "width": [64, 128, 256, 512, 1024],
      "nonlinearity": ["relu", "relu6", "hard_tanh", "hard_sigmoid"],
      "optimizer": ["sgd", "momentum", "adam", "rmsprop"],
      "learning_rate": {"log_uniform_by": "optimizer", "ranges": dict(LEARNING_RATE_RANGES)},
      "batch_size": [32, 128, 512, 0],
      "weight_scale": [1.0, 2.0],
      "random_label_fraction": {"choices": [0.0, 1.0], "weights": [0.75, 0.25]},
      "augment": {"choices": [False, True], "weights": [0.5, 0.5]},
  }


def _to_python(value):
  return value.item() if isinstance(value, np.generic) else value


def draw(space: Dict[str, Any], rng: np.random.Generator) -> Dict[str, Any]:
  """One configuration (a dict of training fields) drawn from ``space``."""
  out: Dict[str, Any] = {}
  def dependent(field):
    return isinstance(space[field], dict) and "log_uniform_by" in space[field]
  order = sorted(space, key=lambda f: (dependent(f), f))
  for field in order:
    spec = space[field]
    if isinstance(spec, (list, tuple)):
      value = spec[rng.integers(len(spec))]
    elif "choices" in spec:
      p = np.asarray(spec["weights"], float)
      value = spec["choices"][rng.choice(len(spec["choices"]), p=p / p.sum())]
    elif "log_uniform" in spec:
      low, high = spec["log_uniform"]
      value = float(math.exp(rng.uniform(math.log(low), math.log(high))))
    else:
      low, high = spec["ranges"][out[spec["log_uniform_by"]]]
      value = float(math.exp(rng.uniform(math.log(low), math.log(high))))
    out[field] = _to_python(value)
  return out


def validate(space: Dict[str, Any]) -> None:
  """Raises ConfigError (one line) for an unknown field or a malformed entry."""
  independent = {f for f, spec in space.items()
                 if not (isinstance(spec, dict) and "log_uniform_by" in spec)}
  for field, spec in space.items():
    if field not in train_config.FIELDS:
      raise train_config.ConfigError(
          f"space field {field!r} is not a training setting; allowed: "
          f"{', '.join(train_config.FIELDS)}")
    if isinstance(spec, (list, tuple)):
      ok = len(spec) > 0
    elif isinstance(spec, dict) and "choices" in spec:
      ok = (len(spec["choices"]) == len(spec.get("weights", [])) > 0
            and min(spec["weights"]) >= 0 and sum(spec["weights"]) > 0)
    elif isinstance(spec, dict) and "log_uniform" in spec:
      low, high = spec["log_uniform"]
      ok = 0 < low <= high
    elif isinstance(spec, dict) and "log_uniform_by" in spec:
      ranges = spec["ranges"]
      base = space.get(spec["log_uniform_by"])
      ok = (spec["log_uniform_by"] in independent
            and isinstance(base, (list, tuple)) and all(v in ranges for v in base)
            and all(0 < lo <= hi for lo, hi in ranges.values()))
    else:
      ok = False
    if not ok:
      raise train_config.ConfigError(f"space entry {field}={spec!r} is invalid; allowed: a list "
                                     "of choices, {choices, weights}, {log_uniform: [lo, hi]} "
                                     "or {log_uniform_by: <field>, ranges: {value: [lo, hi]}}")
