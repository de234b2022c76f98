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

Distributed (keras-tuner's chief/worker mode): a workspace given a `tuner.Chief` hands
every trial and single network to the workers as a job (`survey.jobs`) and waits until it
is done, instead of running it; the analysis then reads the same tables as a single-process
run. Studies and networks are named by keys, so a growing study adds jobs, never shifts
them.
"""

from __future__ import annotations

import pathlib
from typing import Callable, Optional

import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import driver
from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import results as results_lib
from sensitivity_tf.survey import study as study_lib
from sensitivity_tf.survey import tuner as tuner_lib


class Workspace:

  def __init__(self, root, preset: str, data_dir: Optional[str] = None, progress: bool = True,
               log: Callable[[str], None] = print, chief: Optional[tuner_lib.Chief] = None):
    self.root = pathlib.Path(root)
    self.chief = chief
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
    folder = results_dir.relative_to(self.root).as_posix()
    if self.chief is None:
      summary = driver.run_survey(s, results_dir, progress=self.progress,
                                  log=lambda m: self.log(m))
      missing = summary["missing"]
    else:
      jobs = jobs_lib.study_jobs(folder, s)
      driver.record_study(results_dir, s, len(jobs))
      table = results_lib.table(results_dir)
      keys = [j.spec["trial"]["key"] for j in jobs.values()]
      meter = driver.Progress(keys, table.has, enabled=self.progress)
      if self.progress:
        self.log(f"{s['name']} on {s['dataset']}: {len(keys)} networks, "
                 f"{meter.done_at_start} already done; handing the rest to the workers")
      self.chief.run(list(jobs.values()), on_tick=meter.tick)
      missing = len(keys) - meter.count()
    if missing:
      raise RuntimeError(f"study {s['name']} on {s['dataset']}: {missing} trials "
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
    """Trains (or reuses) one network, evaluates it when ``settings`` are given (on a
    worker, when this workspace has a chief; then it only reads the result)."""
    cfg = jobs_lib.network_config(overrides, self.data_dir)
    folder = f"{cfg.dataset}/networks/{name}-{design_lib.training_key(cfg)}"
    if self.chief is not None:
      self.chief.run([jobs_lib.network_job(folder, overrides, settings, self.data_dir)])
    return jobs_lib.train_network(self.path(folder), cfg, settings)
