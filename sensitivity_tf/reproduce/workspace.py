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

How jobs run is the executor's business (`survey.execution`): in this process, handed by a
keras-tuner chief to workers elsewhere, or to local worker processes. A study runs through
`execution.run_study`, exactly as ``bin/survey`` runs it, and a single network is one job;
the analysis then reads the same tables whatever ran them. Studies and networks are named
by keys, so a growing study adds jobs, never shifts them.
"""

from __future__ import annotations

import pathlib
from typing import Callable, Optional

import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import execution
from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import results as results_lib
from sensitivity_tf.survey import study as study_lib


class Workspace:
  """The reproduction's folders under ``root``; ``executor`` runs its jobs (default: this
  process, `execution.InProcess`)."""

  def __init__(self, root, preset: str, data_dir: Optional[str] = None, progress: bool = True,
               log: Callable[[str], None] = print, executor=None):
    self.root = pathlib.Path(root)
    self.preset = preset
    self.data_dir = data_dir or ""
    self.progress = progress
    self.log = log
    self._executor = executor

  @property
  def executor(self):
    if self._executor is None:
      self._executor = execution.InProcess(self.root, self.data_dir)
    return self._executor

  def path(self, *parts) -> pathlib.Path:
    p = self.root.joinpath(*parts)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p

  def figure(self, experiment: str, dataset: Optional[str] = None) -> pathlib.Path:
    """Figure path without extension (PNG and PDF are written beside each other)."""
    return self.path("figures", experiment + (f"_{dataset}" if dataset else ""))

  # ------------------------------------------------------------------ surveys
  def prepared(self, study) -> study_lib.Prepared:
    """``study`` (a config or dict) with this workspace's data_dir, validated, its trials
    built (`study.prepare`)."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    return study_lib.prepare(s)

  def study(self, study) -> pd.DataFrame:
    """Runs (or finishes) a study in this workspace (`execution.run_study`); returns its rows
    (this study's trials only)."""
    prepared = self.prepared(study)
    summary = execution.run_study(self.executor, prepared, self.study_dir(prepared.config),
                                  progress=self.progress, log=self.log)
    if summary["missing"]:
      s = prepared.config
      raise RuntimeError(f"study {s['name']} on {s['dataset']}: {summary['missing']} trials "
                         "without a row")
    return self.study_rows(prepared)

  def study_dir(self, study) -> pathlib.Path:
    """``<dataset>/studies/<name>-<key>``: named by what defines the study (its size aside),
    so a study with a changed field runs beside the old one instead of being refused."""
    s = study.config if isinstance(study, study_lib.Prepared) else (
        study.to_dict() if hasattr(study, "to_dict") else dict(study))
    s = dict(s, data_dir=s.get("data_dir") or self.data_dir)
    return self.root / s["dataset"] / "studies" / f"{s['name']}-{study_lib.study_key(s)}"

  def study_rows(self, study) -> pd.DataFrame:
    """The rows of ``study``'s trials in its table (a study grown further has more)."""
    prepared = study if isinstance(study, study_lib.Prepared) else self.prepared(study)
    frame = results_lib.table(self.study_dir(prepared)).read()
    return frame[frame.trial_key.isin(set(prepared.keys))].reset_index(drop=True)

  def grow_study(self, study, size_field: str, goal, maximum: int, step: int) -> pd.DataFrame:
    """Runs a random or pairs study, adding ``step`` to its ``size_field`` (``num_models``
    or ``num_pairs``: its trial list is prefix-stable in both) until its rows reach ``goal``
    (a `growth.Goal`) or ``maximum``; each growth is logged with the goal's progress."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    while True:
      rows = self.study(s)
      if goal.reached(rows) or s[size_field] >= maximum:
        return rows
      s[size_field] = min(maximum, s[size_field] + step)
      self.log(f"{s['name']} on {s['dataset']}: {goal.progress(rows)} so far; growing to "
               f"{s[size_field]} ({size_field}, at most {maximum})")

  # ------------------------------------------------------------------ single networks
  def network(self, name: str, overrides: dict,
              settings: Optional[evaluation.EvaluationSettings] = None
              ) -> run_dir_lib.RunDirectory:
    """Trains (or reuses) one network, evaluates it when ``settings`` are given, as a job of
    the executor."""
    cfg = jobs_lib.network_config(overrides, self.data_dir)
    folder = f"{cfg.dataset}/networks/{name}-{design_lib.training_key(cfg)}"
    self.executor.run([jobs_lib.network_job(folder, overrides, settings, self.data_dir)])
    # Done by now (read back); trained here only if a worker ended it without its result.
    return jobs_lib.train_network(self.path(folder), cfg, settings)
