"""Runs one survey trial: train to the stopping rule, evaluate, write the row.

`TrialRunner.run(trial)` trains the trial's network into ``<results_dir>/runs/<key>``
(resuming a killed run, reusing a finished one), evaluates its sensitivity (cached the same
way), and writes its row to the results table atomically. Nothing a trial does can stop the
survey: a diverged network gets a row with status ``diverged``, an exception a row with status
``failed`` and the message (its traceback goes to ``error.txt`` in the run directory). After
each trial the Keras session is cleared, so memory does not grow with the number of trials.
"""

from __future__ import annotations

import collections
import datetime
import json
import pathlib
import shutil
import socket
import time
import traceback
from typing import Any, Dict, Optional

import keras

from sensitivity_tf import data
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.survey import results
from sensitivity_tf.survey.design import Trial

# What `keep="tables"` deletes once a trial's row is written.
BULKY = (run_dir_lib.MODEL, run_dir_lib.INITIAL_WEIGHTS, run_dir_lib.TENSORBOARD,
         run_dir_lib.CHECKPOINT)


class DatasetCache:
  """Raw datasets loaded once per process; preprocessed variants kept for a few trials."""

  def __init__(self, size: int = 4):
    self._raw = {}
    self._prepared = collections.OrderedDict()
    self.size = size

  def get(self, cfg) -> data.Dataset:
    options = train_config.preprocessing_options(cfg)
    key = (cfg.dataset, cfg.data_dir, *options.values())
    if key in self._prepared:
      self._prepared.move_to_end(key)
      return self._prepared[key]
    raw_key = (cfg.dataset, cfg.data_dir)
    if raw_key not in self._raw:
      self._raw[raw_key] = data.load_source(cfg.dataset, cfg.data_dir or None)
    spec, train, test, source = self._raw[raw_key]
    dataset = data.preprocess(spec, train, test, source, **options)
    self._prepared[key] = dataset
    if len(self._prepared) > self.size:
      self._prepared.popitem(last=False)
    return dataset


def _one_line(e: BaseException) -> str:
  text = str(e).strip().splitlines()
  return f"{type(e).__name__}: {text[0] if text else ''}"[:500]


GC_EVERY = 10


class TrialRunner:
  """Runs trials of one study into ``results_dir``."""

  def __init__(self, study: Dict[str, Any], settings: evaluation.EvaluationSettings,
               results_dir, worker: Optional[str] = None,
               datasets: Optional[DatasetCache] = None):
    self.study = study
    self.settings = settings
    self.results_dir = pathlib.Path(results_dir)
    self.table = results.table(results_dir)
    self.datasets = datasets or DatasetCache()
    self.worker = worker or socket.gethostname()
    self.trials_run = 0

  def check_data(self, trial: Trial) -> None:
    """Loads (and caches) ``trial``'s dataset, so that data that cannot be used stops the
    survey with one DataError before any training, instead of failing every trial."""
    self.datasets.get(train_config.TrainConfig.from_mapping(trial.config))

  def run_dir(self, trial: Trial) -> pathlib.Path:
    return self.results_dir / "runs" / trial.run_key

  def run(self, trial: Trial) -> Dict[str, Any]:
    """Runs ``trial`` (unless its row exists) and returns its row."""
    start = time.time()
    path = self.run_dir(trial)
    row: Dict[str, Any] = dict(
        trial_key=trial.key, study=self.study["name"], trial_index=trial.index,
        pair_id=trial.pair_id, pair_factor=trial.factor, pair_role=trial.role,
        worker=self.worker, run_dir=str(path.relative_to(self.results_dir)),
        **{k: trial.config[k] for k in train_config.IDENTITY_FIELDS})
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "attempts.log", "a") as f:  # one line per time a process ran it
      f.write(f"{row['worker']} {datetime.datetime.now(datetime.timezone.utc).isoformat()}\n")
    try:
      cfg = train_config.TrainConfig.from_mapping(trial.config)
      dataset = self.datasets.get(cfg)
      metrics, model = train_run.train_model(cfg, path, dataset=dataset, log=lambda *_: None)
      row.update({k: metrics[k] for k in ("train_loss", "train_accuracy", "test_loss",
                                          "test_accuracy", "generalization_gap", "num_weights",
                                          "steps", "epochs", "stop_reason", "reached_target")
                     + train_run.FIRST_FIT_FIELDS},
                 train_wall_secs=metrics["wall_time_secs"])
      if metrics["status"] == "diverged":
        row.update(status="diverged", message="non-finite training loss")
      else:
        summary = evaluations.evaluate_run(run_dir_lib.RunDirectory(path), self.settings,
                                          dataset=dataset, model=model)
        row.update({name: summary.get(name) for name in results.SCHEMA.names
                    if name in summary and name not in row})
        row.update(status="ok", message="", settings=json.dumps(summary["settings"],
                                                                 sort_keys=True),
                   eval_wall_secs=0.0 if summary.get("cached") else summary["eval_wall_time_secs"])
    except Exception as e:  # a failed trial is a result, never the end of the survey
      row.update(status="failed", message=_one_line(e))
      (path / "error.txt").write_text(traceback.format_exc())
    finally:
      # Free the trial's Keras state and graphs; a full garbage collection (a quarter of
      # a second) only every GC_EVERY trials keeps memory flat at a fraction of the cost.
      self.trials_run += 1
      keras.backend.clear_session(free_memory=self.trials_run % GC_EVERY == 0)
    # A resumed trial's train_wall_secs includes the training of earlier attempts, whose
    # overhead is not known: its total is at least training + evaluation, never less.
    row.update(total_wall_secs=max(time.time() - start, (row.get("train_wall_secs") or 0.0)
                                   + (row.get("eval_wall_secs") or 0.0)),
               finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat())
    self.table.write_row(trial.key, row)
    if self.study.get("keep") == "tables":
      for name in BULKY:
        target = path / name
        if target.is_dir():
          shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
          target.unlink()
    return row
