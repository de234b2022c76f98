"""Where a reproduction keeps what it ran, and how it runs only what is missing.

Layout under the workspace root (default ``results/reproduce/<preset>``)::

    <dataset>/studies/<study>-<key>/  a survey (bin/survey layout: table/, runs/, study.json);
                                   <key> hashes what defines the study, its size aside
    <dataset>/networks/<name>-<key>/  single trained networks (bin/train layout +
                                   sensitivity/); <key> hashes what defines the network, so
                                   a changed config field trains a new one beside the old
    <dataset>/tables/              tables an experiment computed itself (e.g. region images)
    figures/<experiment>[_<dataset>].png|pdf
    claims/<experiment>.json       the experiment's claim rows; claims.md / claims.json merge them

Everything here is resumable and cached: a survey never redoes a row, a finished network is
never retrained, a finished evaluation is reused, so running an experiment again only
re-analyses the saved tables and redraws.
"""

from __future__ import annotations

import pathlib
from typing import Callable, Optional

import pandas as pd

from sensitivity_tf import evaluation
from sensitivity_tf import run_dir as run_dir_lib
from sensitivity_tf import train_config
from sensitivity_tf import train_run
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import driver
from sensitivity_tf.survey import results as results_lib
from sensitivity_tf.survey import study as study_lib


class Workspace:

  def __init__(self, root, preset: str, data_dir: Optional[str] = None, progress: bool = True,
               log: Callable[[str], None] = print):
    self.root = pathlib.Path(root)
    self.preset = preset
    self.data_dir = data_dir or ""
    self.progress = progress
    self.log = log

  def path(self, *parts) -> pathlib.Path:
    p = self.root.joinpath(*parts)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p

  def figure(self, experiment: str, dataset: Optional[str] = None) -> pathlib.Path:
    """Figure path without extension (PNG and PDF are written beside each other)."""
    return self.path("figures", experiment + (f"_{dataset}" if dataset else ""))

  # ------------------------------------------------------------------ surveys
  def study(self, study) -> pd.DataFrame:
    """Runs (or finishes) a study in this workspace; returns its rows (this study's trials
    only)."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    s = study_lib.validate(s)
    results_dir = self.study_dir(s)
    summary = driver.run_survey(s, results_dir, progress=self.progress,
                                log=lambda m: self.log(m))
    if summary["missing"]:
      raise RuntimeError(f"study {s['name']} on {s['dataset']}: {summary['missing']} trials "
                         "without a row")
    return self.study_rows(s)

  def study_dir(self, study) -> pathlib.Path:
    """``<dataset>/studies/<name>-<key>``: named by what defines the study (its size aside),
    so a study with a changed field runs beside the old one instead of being refused."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    return self.root / s["dataset"] / "studies" / f"{s['name']}-{study_lib.study_key(s)}"

  def study_rows(self, study) -> pd.DataFrame:
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    settings = study_lib.evaluation_settings(s)
    keys = {t.key for t in design_lib.build_trials(s, settings.settings_id)}
    frame = results_lib.table(self.study_dir(s)).read()
    return frame[frame.trial_key.isin(keys)].reset_index(drop=True)

  def grow_study(self, study, size_field: str, enough: Callable[[pd.DataFrame], bool],
                 maximum: int, step: int) -> pd.DataFrame:
    """Runs a random or pairs study, adding ``step`` to its ``size_field`` (``num_models``
    or ``num_pairs``: its trial list is prefix-stable in both) until ``enough(rows)`` or
    ``maximum``."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    while True:
      rows = self.study(s)
      if enough(rows) or s[size_field] >= maximum:
        return rows
      s[size_field] = min(maximum, s[size_field] + step)
      self.log(f"{s['name']} on {s['dataset']}: not enough yet; growing to {s[size_field]} "
               f"({size_field})")

  # ------------------------------------------------------------------ single networks
  def network(self, name: str, overrides: dict,
              settings: Optional[evaluation.EvaluationSettings] = None
              ) -> run_dir_lib.RunDirectory:
    """Trains (or reuses) one network, evaluates it when ``settings`` are given."""
    cfg = train_config.default_config()
    cfg.update(dict(progress=False, data_dir=self.data_dir), **overrides)
    train_config.validate(cfg)
    path = self.path(cfg.dataset, "networks", f"{name}-{design_lib.training_key(cfg)}")
    train_run.train(cfg, path, log=lambda m: None)
    run = run_dir_lib.RunDirectory(path)
    if settings is not None:
      evaluation.evaluate_run(run, settings)
    return run
