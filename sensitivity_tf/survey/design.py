"""Survey designs: the seeded list of trials a study trains, and each trial's identity.

Three designs:

* ``random``: ``num_models`` configurations drawn from the space (`space.draw`);
* ``pairs``: ``num_pairs`` paired factor studies (docs/method.md §4). Each pair is one draw from the
  space, then two trials identical in every hyperparameter and every seed except the
  factor: ``random_labels`` (fraction 1 vs 0), ``augmentation`` (off vs on),
  ``full_batch`` (full vs the drawn mini-batch size), ``nonlinearity`` (a drawn non-ReLU
  vs ReLU). The first is the "bad" variant (expected to generalize worse), the second the
  "good" one;
* ``grid``: the full factorial product of ``grid`` (field -> values), ``seeds_per_cell``
  seeds per cell, everything else fixed: the complete grid that grid-based scores
  (granulated Kendall Ψ) need.

Every trial gets its own ``seed`` (initialization, mini-batch order, augmentation) and
``label_seed`` drawn from the survey seed; the training subset (``subset_seed``) is fixed for
a whole study. A trial's identity (`trial_key`) is a hash of the hyperparameters that define
what is trained and of the evaluation settings: never of paths, times or its position.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from typing import Any, Dict, List, Optional

import numpy as np

from sensitivity_tf.train import train_config
from sensitivity_tf.survey import space as space_lib

DESIGNS = ("random", "pairs", "grid")
# factor -> (field, bad value or None = drawn, good value or None = drawn)
FACTORS = {
    "random_labels": ("random_label_fraction", 1.0, 0.0),
    "augmentation": ("augment", False, True),
    "full_batch": ("batch_size", 0, None),
    "nonlinearity": ("nonlinearity", None, "relu"),
}


def _hash(obj) -> str:
  return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def training_key(config: Dict[str, Any]) -> str:
  """16 hex digits identifying what is trained (names the trial's run directory, so a
  change of evaluation settings re-evaluates the same trained networks)."""
  return _hash(train_config.identity(config))


def trial_key(config: Dict[str, Any], settings_id: str) -> str:
  """16 hex digits identifying (what is trained, how it is evaluated): the row's key."""
  return _hash([train_config.identity(config), settings_id])


@dataclasses.dataclass(frozen=True)
class Trial:
  index: int
  config: Dict[str, Any]           # every training field
  key: str
  run_key: str
  pair_id: Optional[str] = None
  factor: Optional[str] = None
  role: Optional[str] = None       # "bad" or "good" within a pair


def for_dataset(survey: Dict[str, Any], part: str) -> Dict[str, Any]:
  """The study's ``fixed`` or ``space`` for its dataset: the study's own, updated by its
  ``per_dataset[<dataset>][part]`` entries (e.g. narrower CIFAR networks)."""
  extra = (survey.get("per_dataset") or {}).get(survey["dataset"], {})
  return dict(survey.get(part) or {}, **(extra.get(part) or {}))


def _base_config(survey: Dict[str, Any]) -> Dict[str, Any]:
  cfg = train_config.default_config().to_dict()
  cfg.update(dataset=survey["dataset"], data_dir=survey.get("data_dir", ""), progress=False)
  cfg.update(for_dataset(survey, "fixed"))
  return cfg


def _with_seeds(cfg: Dict[str, Any], rng: np.random.Generator) -> Dict[str, Any]:
  seed = int(rng.integers(0, 2 ** 31 - 1))
  return dict(cfg, seed=seed, label_seed=seed)


def _pair_space(space: Dict[str, Any], factor: str) -> Dict[str, Any]:
  field, bad, good = FACTORS[factor]
  out = dict(space)
  out.pop(field, None)
  if factor == "full_batch":
    sizes = [b for b in space.get("batch_size", [32, 128, 512]) if b != 0]
    out["batch_size"] = sizes
  if factor == "nonlinearity":
    others = [n for n in space.get("nonlinearity", ["relu6", "hard_tanh", "hard_sigmoid"])
              if n != "relu"]
    out["nonlinearity"] = others
  return out


def build_trials(survey: Dict[str, Any], settings_id: str) -> List[Trial]:
  """The study's trials, in order, as a pure function of its configuration."""
  design = survey["design"]
  rng = np.random.default_rng(survey["seed"])
  base = _base_config(survey)
  configs: List[tuple] = []  # (config, pair_id, factor, role)
  if design == "random":
    for _ in range(survey["num_models"]):
      cfg = _with_seeds(dict(base, **space_lib.draw(for_dataset(survey, "space"), rng)), rng)
      configs.append((cfg, None, None, None))
  elif design == "pairs":
    factor = survey["factor"]
    field, bad, good = FACTORS[factor]
    pair_space = _pair_space(for_dataset(survey, "space"), factor)
    for _ in range(survey["num_pairs"]):
      drawn = _with_seeds(dict(base, **space_lib.draw(pair_space, rng)), rng)
      bad_value = drawn[field] if bad is None else bad
      good_value = drawn[field] if good is None else good
      pair = trial_key(dict(drawn, **{field: None}), settings_id)
      configs.append((dict(drawn, **{field: bad_value}), pair, factor, "bad"))
      configs.append((dict(drawn, **{field: good_value}), pair, factor, "good"))
  elif design == "grid":
    fields = list(survey["grid"])
    for values in itertools.product(*(survey["grid"][f] for f in fields)):
      for _ in range(survey["seeds_per_cell"]):
        configs.append((_with_seeds(dict(base, **dict(zip(fields, values))), rng),
                        None, None, None))
  else:
    raise train_config.ConfigError(f"design={design!r} is invalid; allowed: {', '.join(DESIGNS)}")
  trials, seen = [], set()
  for cfg, pair, factor, role in configs:
    key = trial_key(cfg, settings_id)
    if key in seen:  # an identical network drawn twice is trained once
      continue
    seen.add(key)
    trials.append(Trial(len(trials), cfg, key, training_key(cfg), pair, factor, role))
  return trials
