"""The configuration of one training run: every knob, its default, and its validation.

Precedence, lowest to highest: the defaults below < a config file (``--config``, a Python
file in ``configs/`` whose ``get_config()`` returns a possibly partial ``ConfigDict``,
itself overridable as ``--config.<field>=...``) < flags given explicitly on the command
line (``--width=256``).

``IDENTITY_FIELDS`` are the fields that define what is trained: two runs that agree on all
of them train the same network on the same data. The others (where the data was read
from, display, checkpoint frequency) do not change the result.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Mapping, Optional

import ml_collections

from sensitivity_tf.networks import models
from sensitivity_tf.networks import nonlinearities
from sensitivity_tf.train import training
from sensitivity_tf.data import registry


class ConfigError(ValueError):
  """An invalid setting; the message is one line naming the value and what is allowed."""


def _field(default, help_text: str, identity: bool = True):
  """A config field: its default, its help (the flag's help) and whether it is part of the
  network's identity (`IDENTITY_FIELDS`)."""
  return dataclasses.field(default=default, metadata={"help": help_text, "identity": identity})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Every knob of one training run, typed, validated on construction and immutable.

  Field order is the order of ``--helpfull`` and of ``config.json``. Build one with
  `TrainConfig.from_mapping` (defaults < each mapping in turn < keyword overrides: what a
  run directory's ``config.json``, a survey trial or a config file holds); `replace` gives a
  changed copy. It reads like the ``ConfigDict`` it replaces (``cfg.width``, ``cfg["width"]``,
  ``dict(cfg)``), so code written for either works with both.
  """

  dataset: str = _field("fashion_mnist", "Dataset: " + registry.ALLOWED_NAMES + ".")
  data_dir: str = _field("", "Local copy of the data (file or directory); see "
                         "sensitivity_tf.data.", identity=False)
  standardize: bool = _field(False, "Standardize each input feature with training-set "
                             "statistics.")
  train_subset: int = _field(0, "Train on a class-stratified random subset of this size "
                             "(0 = all).")
  subset_seed: int = _field(0, "Seed of the training subset.")
  random_label_fraction: float = _field(0.0, "Fraction in [0, 1] of training labels replaced "
                                        "by uniformly random classes.")
  label_seed: int = _field(0, "Seed of the random labels.")
  augment: bool = _field(False, "On-the-fly augmentation (translations; flips for 32x32).")
  architecture: str = _field("fc", "Network family: fc (the paper's) or cnn (beyond the "
                             "paper: depth conv blocks of width channels, 3x3 conv + 2x2 max "
                             "pooling, a dense head of width units).")
  depth: int = _field(2, "Number of hidden layers (0 = a linear softmax model); conv blocks "
                      "for cnn.")
  width: int = _field(512, "Units per hidden layer.")
  nonlinearity: str = _field("relu", "Hidden nonlinearity: "
                             + ", ".join(nonlinearities.NONLINEARITIES) + ".")
  weight_scale: float = _field(2.0, "sigma_w^2: each weight ~ N(0, sigma_w^2 / fan_in).")
  bias_scale: float = _field(0.0, "sigma_b: each bias ~ N(0, sigma_b^2).")
  optimizer: str = _field("adam", "Optimizer: " + ", ".join(training.OPTIMIZERS) + ".")
  learning_rate: float = _field(1e-3, "Learning rate.")
  batch_size: int = _field(128, "Mini-batch size; 0 or 'full' = full batch.")
  target_accuracy: float = _field(0.0, "Un-augmented training accuracy that counts as a fit "
                                  "(0 = auto: 1.0, or 0.999 with 100 classes).")
  max_steps: int = _field(20000, "Training budget in optimizer steps (stop_rule=budget), or "
                          "the step cap (stop_rule=first_fit).")
  stop_rule: str = _field("budget", "budget: train exactly max_steps steps, well past the "
                          "first fit (the paper's protocol); first_fit: stop at the first "
                          "evaluation at target_accuracy.")
  eval_every: int = _field(0, "Evaluate every this many steps (0 = one epoch, at least 20 "
                           "steps).")
  seed: int = _field(0, "Seed of initialization, mini-batch order and augmentation.")
  snapshot_steps: str = _field("", "Comma-separated optimizer steps at which the network is also "
                               "evaluated and its weights kept (snapshots/step_<n>.weights.h5): "
                               "several training lengths from one run ('' = none).")
  history_test_points: int = _field(0, "Test points evaluated for the training history (0 = "
                                    "all; final metrics always use the whole test set).",
                                    identity=False)
  checkpoint_every_secs: float = _field(60.0, "Checkpoint for resumption at most this often.",
                                        identity=False)
  progress: bool = _field(True, "Show a progress display.", identity=False)

  def __post_init__(self):
    validate(self)

  @classmethod
  def from_mapping(cls, *sources: Mapping[str, Any], **overrides: Any) -> "TrainConfig":
    """defaults < ``sources`` in order < ``overrides``; unknown fields and values of the wrong
    type are a ConfigError (one line); ``batch_size`` also takes ``'full'``; integers are
    taken for float fields."""
    values: Dict[str, Any] = {}
    for source in (*sources, overrides):
      for key, value in dict(source or {}).items():
        values[key] = _coerce(key, value)
    return cls(**values)

  def replace(self, **changes: Any) -> "TrainConfig":
    return TrainConfig.from_mapping(self.to_dict(), changes)

  def to_dict(self) -> Dict[str, Any]:
    return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

  def keys(self):
    return [f.name for f in dataclasses.fields(self)]

  def __getitem__(self, name: str) -> Any:
    if name not in FIELDS:
      raise KeyError(name)
    return getattr(self, name)

  def identity(self) -> Dict[str, Any]:
    return identity(self)

  def data_options(self) -> Dict[str, Any]:
    return data_options(self)


# name -> (default, help), in field order: the flags of bin/train and the allowed keys.
FIELDS: Dict[str, tuple] = {f.name: (f.default, f.metadata["help"])
                            for f in dataclasses.fields(TrainConfig)}

# Fields added after runs were made, with the value those runs had: an old run directory
# without them is the same run as one with these values.
ADDED_FIELDS = {"architecture": "fc", "snapshot_steps": ""}

IDENTITY_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig)
                        if f.metadata["identity"])


def default_config() -> ml_collections.ConfigDict:
  """The defaults as a ``ConfigDict``: what a ``--config`` file starts from (configs/train.py)."""
  return ml_collections.ConfigDict({k: v[0] for k, v in FIELDS.items()})


def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
  if not ok:
    raise ConfigError(f"{name}={value!r} is invalid; allowed: {allowed}")


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_batch_size(value) -> int:
  """``'full'`` -> 0, digits -> int; anything else is a ConfigError."""
  if isinstance(value, str):
    if value.strip().lower() == "full":
      return 0
    try:
      return int(value)
    except ValueError:
      raise ConfigError(f"batch_size={value!r} is invalid; allowed: 'full', 0 (full batch) or "
                        "a positive integer") from None
  return value


def validate(cfg):
  """Raises ConfigError (one line) on the first invalid setting of ``cfg`` (a `TrainConfig`
  or a ``ConfigDict`` of its fields); returns ``cfg``."""
  unknown = sorted(set(cfg.keys()) - set(FIELDS))
  if unknown:
    raise ConfigError(f"unknown setting(s) {unknown}; allowed: {', '.join(FIELDS)}")
  try:
    registry.check_name(cfg.dataset)
  except ValueError:
    raise ConfigError(f"dataset={cfg.dataset!r} is invalid; allowed: {registry.ALLOWED_NAMES}"
                      ) from None
  _check(cfg.nonlinearity in nonlinearities.NONLINEARITIES, "nonlinearity", cfg.nonlinearity,
         ", ".join(nonlinearities.NONLINEARITIES))
  _check(cfg.architecture in models.ARCHITECTURES, "architecture", cfg.architecture,
         ", ".join(models.ARCHITECTURES))
  _check(cfg.optimizer in training.OPTIMIZERS, "optimizer", cfg.optimizer,
         ", ".join(training.OPTIMIZERS))
  _check(cfg.stop_rule in training.STOP_RULES, "stop_rule", cfg.stop_rule,
         ", ".join(training.STOP_RULES))
  for name in ("train_subset", "subset_seed", "label_seed", "depth", "batch_size",
               "eval_every", "seed", "history_test_points"):
    _check(_is_int(cfg[name]) and cfg[name] >= 0, name, cfg[name], "an integer >= 0")
  for name in ("width", "max_steps"):
    _check(_is_int(cfg[name]) and cfg[name] >= 1, name, cfg[name], "an integer >= 1")
  _check(_is_number(cfg.random_label_fraction) and 0 <= cfg.random_label_fraction <= 1,
         "random_label_fraction", cfg.random_label_fraction, "a number in [0, 1]")
  _check(_is_number(cfg.target_accuracy) and 0 <= cfg.target_accuracy <= 1, "target_accuracy",
         cfg.target_accuracy, "0 (auto) or a number in (0, 1]")
  for name in ("weight_scale", "learning_rate", "checkpoint_every_secs"):
    _check(_is_number(cfg[name]) and cfg[name] > 0, name, cfg[name], "a finite number > 0")
  _check(_is_number(cfg.bias_scale) and cfg.bias_scale >= 0, "bias_scale", cfg.bias_scale,
         "a finite number >= 0")
  _check(isinstance(cfg.snapshot_steps, str) and _snapshots_valid(cfg), "snapshot_steps",
         cfg.snapshot_steps, f"'' or comma-separated increasing steps in 1..max_steps="
         f"{cfg.max_steps}")
  spec = registry.DATASETS.get(cfg.dataset)  # other datasets: checked when loaded
  _check(spec is None or cfg.train_subset <= spec.num_train, "train_subset", cfg.train_subset,
         f"0 (all) .. {spec and spec.num_train} for {cfg.dataset}")
  return cfg


def _snapshots_valid(cfg) -> bool:
  try:
    steps = training.snapshot_steps(cfg)
  except ValueError:
    return False
  return all(a < b for a, b in zip((0,) + steps, steps)) and (
      not steps or steps[-1] <= cfg.max_steps)


def _coerce(key: str, value: Any) -> Any:
  """``value`` for field ``key``, in the field's type (see `TrainConfig.from_mapping`)."""
  if key not in FIELDS:
    raise ConfigError(f"unknown setting {key!r}; allowed: {', '.join(FIELDS)}")
  if key == "batch_size":
    value = parse_batch_size(value)
  default = FIELDS[key][0]
  if isinstance(default, float) and _is_int(value):
    value = float(value)
  if type(value) is not type(default):
    raise ConfigError(f"{key}={value!r} is invalid; allowed: a value of type "
                      f"{type(default).__name__}")
  return value


def merge(config_file: Optional[Mapping[str, Any]], explicit: Dict[str, Any]) -> TrainConfig:
  """defaults < ``config_file`` < ``explicit`` (flags given on the command line)."""
  return TrainConfig.from_mapping(config_file or {}, explicit)


def identity(cfg) -> Dict[str, Any]:
  """The fields that define what is trained (see the module docstring); an added field at
  the value older runs had is left out, so their identities (and survey keys) stay valid."""
  return {k: cfg[k] for k in IDENTITY_FIELDS
          if not (k in ADDED_FIELDS and cfg[k] == ADDED_FIELDS[k])}


# The fields that say how the raw data becomes what the network trains on: the options of
# `sensitivity_tf.data.preprocess`, each with the config field's name.
PREPROCESSING_FIELDS = ("standardize", "train_subset", "subset_seed", "random_label_fraction",
                        "label_seed")


def preprocessing_options(cfg) -> Dict[str, Any]:
  """The arguments of `sensitivity_tf.data.preprocess` for the data ``cfg`` trains on."""
  return {k: cfg[k] for k in PREPROCESSING_FIELDS}


def data_options(cfg) -> Dict[str, Any]:
  """The arguments of `sensitivity_tf.data.load` that give the data ``cfg`` trains on."""
  return dict(name=cfg.dataset, data_dir=cfg.data_dir or None, **preprocessing_options(cfg))


NAMED_FIELDS = ("dataset", "depth", "width", "nonlinearity", "seed")
MAX_RUN_NAME = 120


def default_run_name(cfg) -> str:
  """``<depth>x<width>_<nonlinearity>_s<seed>`` followed by ``_<field>=<value>`` for every
  other field of `identity` that differs from its default (``2x512_relu_s0_learning_rate=0.01``),
  so that runs differing in any hyperparameter never share a default directory; a name
  longer than `MAX_RUN_NAME` characters ends in ``_h<hash>`` (12 hex digits of SHA-256 of
  those fields) instead."""
  import hashlib
  import json
  name = f"{cfg.depth}x{cfg.width}_{cfg.nonlinearity}_s{cfg.seed}"
  differing = {k: v for k, v in identity(cfg).items()
               if k not in NAMED_FIELDS and v != FIELDS[k][0]}
  suffix = "".join(f"_{k}={v}" for k, v in differing.items())
  if len(name) + len(suffix) > MAX_RUN_NAME:
    blob = json.dumps(differing, sort_keys=True).encode()
    suffix = "_h" + hashlib.sha256(blob).hexdigest()[:12]
  return name + suffix
