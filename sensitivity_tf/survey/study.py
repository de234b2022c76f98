"""A study: one survey's configuration and its validation.

A study config (``configs/survey_*.py``, ``get_config(preset)``) is a ``ConfigDict`` with

* ``name``, ``design`` (random | pairs | grid), ``dataset``, ``data_dir``, ``seed``;
* ``space`` (random, pairs; see `space`), ``factor`` (pairs), ``grid`` and
  ``seeds_per_cell`` (grid), ``num_models`` (random), ``num_pairs`` (pairs);
* ``fixed``: training fields shared by every trial (training subset, step cap, ...),
  including ``architecture`` (``fc``; ``--config.fixed.architecture=cnn`` surveys the small
  CNN family of `sensitivity_tf.networks.models.build_cnn` instead, beyond the paper);
* ``evaluation``: `sensitivity_tf.metrics.evaluation.EvaluationSettings` fields;
* ``keep``: ``all`` keeps every run directory whole; ``tables`` deletes the trained model,
  initial weights, TensorBoard logs and checkpoints of a trial once its row is written,
  keeping config, metrics, history and the sensitivity tables (what the figures need);
* ``per_dataset``: optional ``{dataset: {fixed: {...}, space: {...}}}``, entries that replace
  ``fixed`` / ``space`` entries when the study runs on that dataset (`design.for_dataset`);
* ``preset``: the preset it was built with.

The studies themselves, and the values of their presets (tiny | small | paper), are built in
``configs/_common.py``; this module validates them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Dict, List, Tuple

import ml_collections

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.train import train_config
from sensitivity_tf.data import registry
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import space as space_lib

PRESETS = ("tiny", "small", "paper")
KEEP = ("all", "tables")


def preset_name(preset: str) -> str:
  """The preset called ``preset`` ("quick", every config's laptop mode, is ``tiny``)."""
  preset = "tiny" if preset == "quick" else preset
  if preset not in PRESETS:
    raise train_config.ConfigError(f"preset={preset!r} is invalid; allowed: "
                                   f"{', '.join(PRESETS)} (quick = tiny)")
  return preset


def evaluation_settings(study: Dict[str, Any]) -> evaluation.EvaluationSettings:
  try:
    return evaluation.EvaluationSettings(**study.get("evaluation", {})).validate()
  except TypeError as e:
    raise train_config.ConfigError(f"evaluation settings: {e}") from None


@dataclasses.dataclass(frozen=True)
class Prepared:
  """A validated study with its trials, built once: what running, counting and reading a
  study's rows all start from (`prepare`)."""
  config: Dict[str, Any]                      # the study as a plain, validated dict
  settings: evaluation.EvaluationSettings
  trials: Tuple[design_lib.Trial, ...]        # in the study's order

  @property
  def keys(self) -> List[str]:
    return [t.key for t in self.trials]


def validate(study) -> Dict[str, Any]:
  """Checks a study (ConfigDict or dict) and returns it as a plain dict; ConfigError (one
  line) on the first problem. Every trial's training config is validated too."""
  return prepare(study).config


def prepare(study) -> Prepared:
  """`validate`s a study (ConfigDict, dict or `Prepared`, returned as it is) and builds its
  trials, once."""
  if isinstance(study, Prepared):
    return study
  s = study.to_dict() if isinstance(study, ml_collections.ConfigDict) else dict(study)

  def check(ok, name, allowed):
    if not ok:
      raise train_config.ConfigError(f"{name}={s.get(name)!r} is invalid; allowed: {allowed}")

  check(s.get("design") in design_lib.DESIGNS, "design", ", ".join(design_lib.DESIGNS))
  try:
    registry.check_name(str(s.get("dataset")))
  except ValueError:
    check(False, "dataset", registry.ALLOWED_NAMES)
  check(s.get("keep") in KEEP, "keep", ", ".join(KEEP))
  check(isinstance(s.get("name"), str) and s["name"].replace("_", "").isalnum(), "name",
        "letters, digits and underscores")
  check(isinstance(s.get("seed"), int) and s["seed"] >= 0, "seed", "an integer >= 0")
  per_dataset = s.get("per_dataset") or {}
  for dataset, parts in per_dataset.items():
    check(dataset in registry.DATASETS and set(parts) <= {"fixed", "space"}, "per_dataset",
          "{<dataset>: {fixed: {...}, space: {...}}} with datasets among "
          + ", ".join(registry.DATASETS))
  for field in design_lib.for_dataset(s, "fixed"):
    if field not in train_config.FIELDS:
      raise train_config.ConfigError(f"fixed field {field!r} is not a training setting")
  if s["design"] in ("random", "pairs"):
    space_lib.validate(design_lib.for_dataset(s, "space"))
  if s["design"] == "random":
    check(isinstance(s.get("num_models"), int) and s["num_models"] >= 1, "num_models",
          "an integer >= 1")
  if s["design"] == "pairs":
    check(s.get("factor") in design_lib.FACTORS, "factor", ", ".join(design_lib.FACTORS))
    check(isinstance(s.get("num_pairs"), int) and s["num_pairs"] >= 1, "num_pairs",
          "an integer >= 1")
  if s["design"] == "grid":
    grid = s.get("grid", {})
    check(bool(grid) and all(f in train_config.FIELDS and len(v) >= 1 for f, v in grid.items()),
          "grid", "training fields mapped to non-empty lists of values")
    check(isinstance(s.get("seeds_per_cell"), int) and s["seeds_per_cell"] >= 1,
          "seeds_per_cell", "an integer >= 1")
  settings = evaluation_settings(s)
  trials = tuple(design_lib.build_trials(s, settings.settings_id))
  for trial in trials:  # each trial's training config built, so validated, once here
    train_config.TrainConfig.from_mapping(trial.config)
  return Prepared(s, settings, trials)


def describe(study: Dict[str, Any]) -> Dict[str, Any]:
  return dict(study, evaluation=dataclasses.asdict(evaluation_settings(study)))


# Fields that change neither what a study's trials are nor how they are evaluated: its size
# (a study grown to more networks is the same study; its trial lists are prefix-stable),
# where the data is read from, and what is kept on disk.
NON_IDENTITY = ("num_models", "num_pairs", "seeds_per_cell", "data_dir", "keep")


def _identity(s: Dict[str, Any]) -> Dict[str, Any]:
  return json.loads(json.dumps({k: v for k, v in s.items() if k not in NON_IDENTITY},
                               sort_keys=True, default=str))


def study_key(study: Dict[str, Any]) -> str:
  """12 hex digits naming what defines a (validated) study, its size aside: a study with
  any other field changed gets another key, so another results directory."""
  text = json.dumps(_identity(describe(study)), sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_same_study(recorded: Dict[str, Any], study: Dict[str, Any], where) -> None:
  """ConfigError (one line) if ``study`` is not the study ``recorded`` (a `describe` read
  back from ``where``'s study.json), growth in size aside."""
  old, new = _identity(recorded), _identity(describe(study))
  if old == new:
    return
  diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
  raise train_config.ConfigError(
      f"{where} holds the results of another study ({old.get('name')}, {old.get('design')}, "
      f"{old.get('dataset')}, preset {old.get('preset')}; differing in {', '.join(diff[:4])}); "
      "pass another --results_dir (a study grown to more networks may share one)")
