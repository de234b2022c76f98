"""Jobs: the units of work a survey or a reproduction hands to its processes.

A job is one survey trial (train the network, evaluate it, write its row in the study's
table) or one single network (train it, and evaluate it when evaluation settings are given).

* Its ``key`` is a function of what it computes: the study's folder and the trial key, or
  the network's folder, training identity and evaluation settings. Never an index into a
  list a process builds, so a chief, its workers and a restarted chief always agree on it,
  however a study grew in between.
* Its ``spec`` is a JSON-able dict holding everything a process needs to run it (the study
  and the trial, or the network's configuration), with folders relative to the shared root
  directory, so workers may mount that directory elsewhere.
* It is done when its result is on disk (`is_done`): the study's row, or the finished run
  directory with its evaluation. Nothing else records completion, so a killed process
  never leaves a job marked done that is not.

`JobRunner` runs jobs in one process (a worker, or a single-process run), sharing loaded
datasets between them.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable, Dict, Optional


from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import results
from sensitivity_tf.survey import runner as runner_lib
from sensitivity_tf.survey import study as study_lib

TRIAL = "trial"
NETWORK = "network"


@dataclasses.dataclass(frozen=True)
class Job:
  key: str
  spec: Dict[str, Any]

  @property
  def kind(self) -> str:
    return self.spec["kind"]

  def to_json(self) -> str:
    return json.dumps(dict(key=self.key, spec=self.spec), sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "Job":
    d = json.loads(text)
    return cls(d["key"], d["spec"])


def trial_job(folder: str, study: Dict[str, Any], trial: design_lib.Trial) -> Job:
  """The job of ``trial`` of ``study`` (a validated study dict) whose results directory is
  ``folder`` (relative to the root; "." for the root itself)."""
  key = trial.key if folder == "." else f"{folder}/{trial.key}"
  return Job(key, dict(kind=TRIAL, folder=folder, study=study,
                       trial=dataclasses.asdict(trial)))


def study_jobs(folder: str, study) -> Dict[str, Job]:
  """Every trial of ``study`` (a `study.Prepared`, or a study to prepare) as a job, by key,
  in the study's order."""
  prepared = study_lib.prepare(study)
  return {j.key: j for j in (trial_job(folder, prepared.config, t) for t in prepared.trials)}


def network_config(overrides: Dict[str, Any], data_dir: str = "") -> train_config.TrainConfig:
  """The validated training config of a single network: the defaults, no progress display,
  ``data_dir``, then ``overrides``."""
  return train_config.TrainConfig.from_mapping(dict(progress=False, data_dir=data_dir),
                                               overrides)


def network_job(folder: str, overrides: Dict[str, Any],
                settings: Optional[evaluation.EvaluationSettings] = None,
                data_dir: str = "") -> Job:
  """The job of training the network ``overrides`` describes into ``folder`` (relative to
  the root), and evaluating it with ``settings`` when given; ``data_dir``: the submitting
  process's copy of the data (a worker's own, when it has one, takes precedence)."""
  cfg = network_config(overrides)
  settings_id = settings.settings_id if settings is not None else "none"
  key = f"{folder}/{design_lib.training_key(cfg.to_dict())}-{settings_id}"
  return Job(key, dict(kind=NETWORK, folder=folder, overrides=dict(overrides),
                       data_dir=data_dir or "",
                       evaluation=dataclasses.asdict(settings) if settings else None))


def _settings(job: Job) -> Optional[evaluation.EvaluationSettings]:
  s = job.spec.get("evaluation")
  return evaluation.EvaluationSettings(**s) if s is not None else None


def is_done(root, job: Job) -> bool:
  """Whether ``job``'s result is on disk under ``root``."""
  folder = pathlib.Path(root) / job.spec["folder"]
  if job.kind == TRIAL:
    return results.table(folder).has(job.spec["trial"]["key"])
  run = run_dir_lib.RunDirectory(folder)
  if not run.is_finished():
    return False
  settings = _settings(job)
  return settings is None or evaluations.is_evaluated(run, settings)


def train_network(path, cfg, settings: Optional[evaluation.EvaluationSettings] = None
                  ) -> run_dir_lib.RunDirectory:
  """Trains (or reuses) one network into ``path``; evaluates it when ``settings`` are given."""
  train_run.train(cfg, path, log=lambda m: None)
  run = run_dir_lib.RunDirectory(path)
  if settings is not None:
    evaluations.evaluate_run(run, settings)
  return run


class JobRunner:
  """Runs jobs under ``root`` in this process, as ``worker``; ``data_dir`` (this machine's
  copy of the data), when given, replaces the one in the job."""

  def __init__(self, root, worker: str, data_dir: str = "",
               on_trial_done: Optional[Callable[[dict], None]] = None):
    self.root = pathlib.Path(root)
    self.worker = worker
    self.data_dir = data_dir or ""
    self.on_trial_done = on_trial_done
    self.datasets = runner_lib.DatasetCache()
    self._runners: Dict[str, runner_lib.TrialRunner] = {}
    self.jobs_run = 0

  def _trial(self, job: Job):
    """(its study's TrialRunner, the trial) of a trial job, with this process's data_dir."""
    spec = job.spec
    study = dict(spec["study"])
    trial = design_lib.Trial(**spec["trial"])
    if self.data_dir:
      study["data_dir"] = self.data_dir
      trial = dataclasses.replace(trial, config=dict(trial.config, data_dir=self.data_dir))
    runner = self._runners.get(spec["folder"])
    if runner is None:
      runner = runner_lib.TrialRunner(study, study_lib.evaluation_settings(study),
                                      self.root / spec["folder"], worker=self.worker,
                                      datasets=self.datasets)
      self._runners[spec["folder"]] = runner
    return runner, trial

  def check_data(self, job: Job) -> None:
    """Loads (and caches) a trial job's dataset: data that cannot be used stops with one
    DataError before any training, instead of failing every trial."""
    runner, trial = self._trial(job)
    runner.check_data(trial)

  def run(self, job: Job) -> Optional[Dict[str, Any]]:
    """Runs ``job``; returns its row (a trial) or None (a single network)."""
    spec = job.spec
    folder = self.root / spec["folder"]
    row = None
    if job.kind == TRIAL:
      runner, trial = self._trial(job)
      row = runner.run(trial)
      if self.on_trial_done:
        self.on_trial_done(row)
    elif job.kind == NETWORK:
      cfg = network_config(spec["overrides"], self.data_dir or spec.get("data_dir", ""))
      train_network(folder, cfg, _settings(job))
    else:
      raise ValueError(f"job {job.key}: unknown kind {job.kind!r}")
    self.jobs_run += 1
    return row
