"""Runs a whole study: single process, or one process of a keras-tuner chief/worker group.

`run_survey` is what ``bin/survey`` calls. Every trial is a job (`jobs.trial_job`) handed out
by a `tuner.JobOracle`: locally in a single process, or by the chief to its workers in
keras-tuner's chief/worker mode (see `tuner` for how faults are handled). The study's
trials are a pure function of its config; rows already in ``<results_dir>/table`` are never redone, so running the same
command again after a crash or ``kill -9`` finishes the survey with every row exactly once
and no finished network retrained (a network killed mid-training resumes from its
checkpoint).

Results directory layout::

    <results_dir>/study.json        the study as run (config, evaluation settings, trial count);
                                    another study is refused (the same one grown is not)
    <results_dir>/table/            one Parquet row per network: pandas.read_parquet(...)
    <results_dir>/runs/<key>/       the run directory of each network (bin/train layout)
    <results_dir>/chief.json        distributed: which worker holds which trial (for a
                                    restarted chief)
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from sensitivity_tf.store import atomic
from sensitivity_tf.survey import cost
from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import results
from sensitivity_tf.survey import study as study_lib
from sensitivity_tf.survey import tuner as tuner_lib


class Progress:
  """Jobs done / total, elapsed time and ETA; ``is_done(key)`` reads a job's state."""

  def __init__(self, keys, is_done: Callable[[str], bool], enabled=True, stream=None,
               min_interval=5.0):
    self.keys = list(keys)
    self.is_done = is_done
    self.enabled = enabled
    self.stream = stream or sys.stderr
    self.start = time.time()
    self.done_at_start = self.count()
    self.min_interval = min_interval
    self._last = 0.0
    self._last_count = -1

  def count(self) -> int:
    return sum(bool(self.is_done(k)) for k in self.keys)

  def line(self, extra: str = "") -> str:
    done = self.count()
    elapsed = time.time() - self.start
    new = done - self.done_at_start
    eta = elapsed / new * (len(self.keys) - done) if new else float("nan")
    eta_text = f"ETA {eta / 60:.1f} min" if np.isfinite(eta) else "ETA -"
    return (f"[{done}/{len(self.keys)}] {elapsed / 60:.1f} min elapsed, {eta_text}"
            + (f" | {extra}" if extra else ""))

  def trial_done(self, row: Dict[str, Any]) -> None:
    if not self.enabled:
      return
    detail = f"{row['trial_key']} {row['status']}"
    if row["status"] == "ok":
      detail += (f" gap {row['generalization_gap']:.3f} train acc {row['train_accuracy']:.3f} "
                 f"‖J‖ {row['jacobian_test_mean']:.2e}")
    elif row.get("message"):
      detail += f" ({row['message']})"
    print(self.line(detail), file=self.stream, flush=True)

  def tick(self) -> None:
    """For the chief, which sees rows appear rather than finishing them itself."""
    if not self.enabled or time.time() - self._last < self.min_interval:
      return
    self._last = time.time()
    count = self.count()
    if count != self._last_count:
      self._last_count = count
      print(self.line(), file=self.stream, flush=True)


def define_distributed_flags(unit: str, done: str, chief_waits_for: str) -> None:
  """The chief/worker flags that bin/survey and bin/reproduce share (``unit``: what is handed
  out, "trial" or "job"; ``done``: when the chief may stop its workers)."""
  from absl import flags
  flags.DEFINE_float("worker_grace_secs", 30.0, "Chief: how long to wait for workers to be "
                     f"told to stop once {done}.")
  flags.DEFINE_float("chief_timeout_secs", 300.0,
                     f"Worker: how long to wait for {chief_waits_for}.")
  flags.DEFINE_float("reassign_after_secs", 180.0, f"Chief: hand a {unit} out again once its "
                     "worker sent no heartbeat for this long (presumed lost).")


def study_identity(study: Dict[str, Any]) -> str:
  """What chief and workers of one survey must agree on: the study (not where each
  machine keeps its data)."""
  described = {k: v for k, v in study_lib.describe(study).items() if k != "data_dir"}
  label = f"survey {study['name']} on {study['dataset']} (preset {study.get('preset')})"
  return tuner_lib.identity(label, dict(kind="survey", study=described))


def dry_run_text(study, results_dir) -> str:
  """What ``run_survey`` would do, without training or writing anything (`cost`)."""
  study = study_lib.validate(study)
  results_dir = pathlib.Path(results_dir)
  need = cost.study_need(study, results_dir)
  recorded = cost.Recorded.find([results_dir, "results"])
  return (f"dry run: {study['name']} ({study['design']}, {study['dataset']}, preset "
          f"{study.get('preset')}) in {results_dir}\n" + cost.summary([need], recorded))


def record_study(results_dir, study: Dict[str, Any], num_trials: int) -> None:
  """Writes ``<results_dir>/study.json`` (the study as run), after checking that the
  directory holds no other study (ConfigError, one line) and its table is writable."""
  results_dir = pathlib.Path(results_dir)
  if (results_dir / "study.json").is_file():  # a results directory holds one study
    recorded = atomic.read_json(results_dir / "study.json")
    study_lib.check_same_study(recorded.get("study", {}), study, results_dir)
  results.table(results_dir).check_writable()
  atomic.write_json(results_dir / "study.json",
                    dict(study=study_lib.describe(study), num_trials=num_trials,
                         settings_id=study_lib.evaluation_settings(study).settings_id))


def run_survey(study, results_dir, progress: bool = True, retry_failed: bool = True,
               worker_grace_secs: float = 30.0, chief_timeout_secs: float = 300.0,
               reassign_after_secs: float = tuner_lib.REASSIGN_AFTER_SECS,
               log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Runs (or finishes) ``study`` into ``results_dir``; returns the end-of-survey summary."""
  study = study_lib.validate(study)
  role = "chief" if tuner_lib.is_chief() else "worker" if tuner_lib.is_worker() else "single"
  if role == "chief":
    check_port_free()  # before anything is written: a refused chief leaves nothing behind
  jobs = jobs_lib.study_jobs(".", study)
  results_dir = pathlib.Path(results_dir).expanduser()
  table = results.table(results_dir)
  identity = study_identity(study)
  if role != "worker":
    record_study(results_dir, study, len(jobs))
    if retry_failed:
      for key in jobs:
        if table.has(key) and table.read_row(key).get("status") == "failed":
          table.delete_row(key)
  meter = Progress(jobs, table.has, enabled=progress)
  start = time.time()
  runner = jobs_lib.JobRunner(results_dir, tuner_lib.tuner_id(),
                              data_dir=study.get("data_dir", ""), on_trial_done=meter.trial_done)
  if role == "single" and jobs:
    runner.check_data(next(iter(jobs.values())))  # bad data: one error now, not a row per trial
  if progress and role != "worker":
    log(f"{study['name']} ({study['design']}, {study['dataset']}, preset {study.get('preset')}): "
        f"{len(jobs)} networks, {meter.done_at_start} already in {table.path}")
  if role == "worker":
    tuner_lib.work(runner, identity, chief_timeout_secs=chief_timeout_secs)
  elif role == "chief":
    with tuner_lib.Chief(identity, results_dir, reassign_after_secs, worker_grace_secs,
                         log=log) as chief:
      chief.run(list(jobs.values()), on_tick=meter.tick)
  else:
    tuner_lib.run_locally(list(jobs.values()), runner, identity)
  return summarize(list(jobs), table, time.time() - start, role)


def summarize(keys, table, elapsed: float, role: str = "single") -> Dict[str, Any]:
  frame = table.read()
  keys = set(keys)
  frame = frame[frame.trial_key.isin(keys)]
  counts = frame.status.value_counts().to_dict()
  failed = frame[frame.status == "failed"].sort_values("trial_index")
  out = dict(role=role, num_trials=len(keys), num_rows=len(frame), status_counts=counts,
             missing=len(keys) - len(frame), table=str(table.path), elapsed_secs=elapsed,
             first_failure=failed.message.iloc[0] if len(failed) else None)
  finished = frame[frame.total_wall_secs.notna()]
  if len(finished):
    total = float(finished.total_wall_secs.sum())
    train = float(finished.train_wall_secs.fillna(0).sum())
    evaluate = float(finished.eval_wall_secs.fillna(0).sum())
    out.update(train_share=train / total, eval_share=evaluate / total,
               overhead_share=(total - train - evaluate) / total)
  return out


def check_port_free() -> None:
  """ConfigError (one line) if the chief's ``KERASTUNER_ORACLE_PORT`` is already taken on
  this machine: gRPC would otherwise fail deep inside keras-tuner with a traceback."""
  import socket
  from sensitivity_tf.train import train_config
  port = os.environ.get("KERASTUNER_ORACLE_PORT", "")
  if not port.isdigit() or not 0 < int(port) < 65536:
    raise train_config.ConfigError(f"KERASTUNER_ORACLE_PORT={port!r} is invalid; allowed: a "
                                   "port number 1..65535")
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed chief's TIME_WAIT is free
    try:
      s.bind(("", int(port)))
    except OSError as e:
      raise train_config.ConfigError(
          f"KERASTUNER_ORACLE_PORT={port} is already in use on this machine ({e.strerror}); "
          "stop what holds it or choose another port for the chief and every worker") from None


def failure_message(summary: Dict[str, Any]) -> Optional[str]:
  """None if the survey succeeded: every trial has a row and none says ``failed`` (diverged
  networks are results). Otherwise one line saying what failed and how to finish."""
  failed = summary["status_counts"].get("failed", 0)
  if failed:
    first = f" (first: {summary['first_failure']})" if summary.get("first_failure") else ""
    return (f"{failed} of {summary['num_trials']} trials failed{first}; fix the cause and run "
            "the same command again: failed trials are retried (their errors are in "
            "<results_dir>/runs/<key>/error.txt)")
  if summary["missing"] and summary["role"] != "worker":
    return (f"{summary['missing']} of {summary['num_trials']} trials have no row yet; run the "
            "same command again to finish them")
  return None


def summary_text(summary: Dict[str, Any]) -> str:
  counts = ", ".join(f"{v} {k}" for k, v in sorted(summary["status_counts"].items())) or "none"
  text = (f"{summary['num_rows']}/{summary['num_trials']} networks in the table ({counts}); "
          f"{summary['elapsed_secs'] / 60:.1f} min; table: {summary['table']} "
          f"(pandas.read_parquet)")
  if "train_share" in summary:
    text += (f"; time: training {summary['train_share']:.0%}, evaluation "
             f"{summary['eval_share']:.0%}, overhead {summary['overhead_share']:.1%}")
  if summary["missing"]:
    text += f"; {summary['missing']} not done yet (run the same command again)"
  return text
