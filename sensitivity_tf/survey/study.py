"""A study: one survey's configuration, its presets, and its validation.

A study config (``configs/survey_*.py``, ``get_config(preset)``) is a ``ConfigDict`` with

* ``name``, ``design`` (random | pairs | grid), ``dataset``, ``data_dir``, ``seed``;
* ``space`` (random, pairs; see `space`), ``factor`` (pairs), ``grid`` and
  ``seeds_per_cell`` (grid), ``num_models`` (random), ``num_pairs`` (pairs);
* ``fixed``: training fields shared by every trial (training subset, step cap, ...);
* ``evaluation``: `sensitivity_tf.evaluation.EvaluationSettings` fields;
* ``keep``: ``all`` keeps every run directory whole; ``tables`` deletes the trained model,
  initial weights, TensorBoard logs and checkpoints of a trial once its row is written,
  keeping config, metrics, history and the sensitivity tables (what the figures need);
* ``preset``: the preset it was built with.

Presets (sizes measured on this project's 2-core machine; see each config's docstring):

* ``tiny``: seconds per network, for tests: 500 training examples, widths 16-32, 60 steps,
  a light evaluation;
* ``small``: real data subsets (1,000 training examples) and a reduced space, for a survey
  of dozens to hundreds of networks within about an hour;
* ``paper``: the full training sets, the docs/method.md §4 space, the default evaluation (k = 3072,
  B = 64, 8 ellipses of each kind, 100 test-point ellipses), thousands of networks: for
  clusters (see README: distributed surveys).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Dict

import ml_collections

from sensitivity_tf import evaluation
from sensitivity_tf import train_config
from sensitivity_tf.data import registry
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import space as space_lib

PRESETS = ("tiny", "small", "paper")
KEEP = ("all", "tables")

_PRESET_SETTINGS = {
    "tiny": dict(
        fixed=dict(train_subset=500, max_steps=60, eval_every=30, target_accuracy=1.0,
                   history_test_points=500),
        space=dict(depth=[1, 2], width=[16, 32], batch_size=[32, 0]),
        evaluation=dict(test_points=200, train_points=200, num_samples=96, bins=16,
                        ellipses_per_kind=1, ellipse_jacobian_samples=12,
                        test_point_ellipses=4),
        num_models=4, num_pairs=2, seeds_per_cell=1, keep="all"),
    "small": dict(
        fixed=dict(train_subset=1000, max_steps=2000, eval_every=50, target_accuracy=1.0,
                   history_test_points=1000),
        space=dict(depth=[1, 2, 3, 4], width=[64, 128, 256, 512], batch_size=[32, 128, 512, 0]),
        evaluation=dict(test_points=1000, train_points=1000, num_samples=768, bins=32,
                        ellipses_per_kind=4, ellipse_jacobian_samples=48,
                        test_point_ellipses=20),
        num_models=60, num_pairs=24, seeds_per_cell=1, keep="all"),
    "paper": dict(
        fixed=dict(train_subset=0, max_steps=100000, eval_every=0, target_accuracy=1.0),
        space={},
        evaluation={},
        num_models=2000, num_pairs=250, seeds_per_cell=3, keep="tables"),
}


# The factorial grid study (configs/survey_grid.py): depth x width x optimizer x batch size.
GRIDS = {
    "tiny": dict(depth=[1, 2], width=[16, 32]),
    "small": dict(depth=[1, 2, 4], width=[64, 256], optimizer=["sgd", "adam"],
                  batch_size=[32, 0]),
    "paper": dict(depth=[1, 2, 4], width=[64, 256, 1024], optimizer=["sgd", "adam"],
                  batch_size=[32, 0]),
}


def grid_study(preset: str, dataset: str = "fashion_mnist") -> ml_collections.ConfigDict:
  """The factorial grid study; learning rate 0.005 for both optimizers [ours]: a rate tied
  to the optimizer would be one more varied hyperparameter, and Ψ needs the grid complete
  over those it varies."""
  preset = preset_name(preset)
  cfg = make_study("grid", "grid", preset, dataset=dataset, grid=GRIDS[preset])
  cfg.fixed.learning_rate = 0.005
  return cfg


def preset_name(preset: str) -> str:
  """The preset called ``preset`` ("quick", every config's laptop mode, is ``tiny``)."""
  preset = "tiny" if preset == "quick" else preset
  if preset not in PRESETS:
    raise train_config.ConfigError(f"preset={preset!r} is invalid; allowed: "
                                   f"{', '.join(PRESETS)} (quick = tiny)")
  return preset


def preset_settings(preset: str) -> Dict[str, Any]:
  return copy.deepcopy(_PRESET_SETTINGS[preset_name(preset)])


def make_study(name: str, design: str, preset: str, dataset: str = "fashion_mnist",
               **design_args) -> ml_collections.ConfigDict:
  """A study ConfigDict for one of the designs at one of the presets."""
  preset = preset_name(preset)
  p = preset_settings(preset)
  study = dict(name=name, design=design, dataset=dataset, data_dir="", seed=0, preset=preset,
               fixed=dict(p["fixed"], subset_seed=0), evaluation=p["evaluation"],
               keep=p["keep"])
  if design in ("random", "pairs"):
    space = space_lib.default_space()
    space.update(p["space"])
    study["space"] = space
  if design == "random":
    study["num_models"] = p["num_models"]
  elif design == "pairs":
    study["num_pairs"] = p["num_pairs"]
  elif design == "grid":
    study["seeds_per_cell"] = p["seeds_per_cell"]
  study.update(design_args)
  if design == "pairs" and study.get("factor") in design_lib.FACTORS:
    # The factor's own field is set by the pair, not drawn (a ReLU-vs-other study does
    # not also vary labels or augmentation unless asked).
    field = design_lib.FACTORS[study["factor"]][0]
    for other in ("random_label_fraction", "augment"):
      if other != field and other not in design_args.get("space", {}):
        study["space"].pop(other, None)
  return ml_collections.ConfigDict(study)


def evaluation_settings(study: Dict[str, Any]) -> evaluation.EvaluationSettings:
  try:
    return evaluation.EvaluationSettings(**study.get("evaluation", {})).validate()
  except TypeError as e:
    raise train_config.ConfigError(f"evaluation settings: {e}") from None


def validate(study) -> Dict[str, Any]:
  """Checks a study (ConfigDict or dict) and returns it as a plain dict; ConfigError (one
  line) on the first problem. Every trial's training config is validated too."""
  s = study.to_dict() if isinstance(study, ml_collections.ConfigDict) else dict(study)

  def check(ok, name, allowed):
    if not ok:
      raise train_config.ConfigError(f"{name}={s.get(name)!r} is invalid; allowed: {allowed}")

  check(s.get("design") in design_lib.DESIGNS, "design", ", ".join(design_lib.DESIGNS))
  check(s.get("dataset") in registry.DATASETS, "dataset", ", ".join(registry.DATASETS))
  check(s.get("keep") in KEEP, "keep", ", ".join(KEEP))
  check(isinstance(s.get("name"), str) and s["name"].replace("_", "").isalnum(), "name",
        "letters, digits and underscores")
  check(isinstance(s.get("seed"), int) and s["seed"] >= 0, "seed", "an integer >= 0")
  for field in s.get("fixed", {}):
    if field not in train_config.FIELDS:
      raise train_config.ConfigError(f"fixed field {field!r} is not a training setting")
  if s["design"] in ("random", "pairs"):
    space_lib.validate(s.get("space", {}))
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
  for trial in design_lib.build_trials(s, settings.settings_id):
    cfg = train_config.default_config()
    cfg.update(trial.config)
    train_config.validate(cfg)
  return s


def describe(study: Dict[str, Any]) -> Dict[str, Any]:
  return dict(study, evaluation=dataclasses.asdict(evaluation_settings(study)))


# Fields that change neither what a study's trials are nor how they are evaluated: its size
# (a study grown to more networks is the same study; its trial lists are prefix-stable),
# where the data is read from, and what is kept on disk.
NON_IDENTITY = ("num_models", "num_pairs", "seeds_per_cell", "data_dir", "keep")


def check_same_study(recorded: Dict[str, Any], study: Dict[str, Any], where) -> None:
  """ConfigError (one line) if ``study`` is not the study ``recorded`` (a `describe` read
  back from ``where``'s study.json), growth in size aside."""
  import json

  def identity(s):
    return json.loads(json.dumps({k: v for k, v in s.items() if k not in NON_IDENTITY},
                                 sort_keys=True, default=str))
  old, new = identity(recorded), identity(describe(study))
  if old == new:
    return
  diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
  raise train_config.ConfigError(
      f"{where} holds the results of another study ({old.get('name')}, {old.get('design')}, "
      f"{old.get('dataset')}, preset {old.get('preset')}; differing in {', '.join(diff[:4])}); "
      "pass another --results_dir (a study grown to more networks may share one)")
