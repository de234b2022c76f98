"""One way to run a study: `run_study` hands a study's jobs to an *executor*; ``bin/survey``
and ``bin/reproduce`` both call it, whatever runs the jobs.

Executors (`open_executor` chooses one from the environment and ``--local_workers``):

* `InProcess`: this process runs each job not done yet, in the study's order (no oracle, no
  JSON round trip);
* `ChiefExecutor`: this process is a keras-tuner chief (``KERASTUNER_TUNER_ID=chief``): it hands
  the jobs to workers started elsewhere (`tuner.Chief`) and waits until each is done;
* `local_workers.LocalWorkers` (``--local_workers=N``): the same chief on loopback, with N
  worker processes it starts, divides the cores between, and restarts when one dies.

A process started as a keras-tuner worker (``KERASTUNER_TUNER_ID=worker<i>``) runs no
executor: `work` asks its chief for jobs until told to stop.

Every executor leaves the same results on disk (the study's table, its run directories), so
a study begun in one way can be finished in another; nothing but those results records what
is done, so a killed process (any of them) loses only unfinished work, which the same
command resumes (a network from its checkpoint).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import time
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

import numpy as np

from sensitivity_tf.store import atomic
from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import local_workers as local_lib
from sensitivity_tf.survey import results
from sensitivity_tf.survey import study as study_lib
from sensitivity_tf.survey import tuner as tuner_lib
from sensitivity_tf.train import train_config


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
    """For a chief, which sees rows appear rather than finishing them itself."""
    if not self.enabled or time.time() - self._last < self.min_interval:
      return
    self._last = time.time()
    count = self.count()
    if count != self._last_count:
      self._last_count = count
      print(self.line(), file=self.stream, flush=True)


def define_flags(unit: str, done: str, chief_waits_for: str) -> None:
  """The flags of how jobs run, shared by bin/survey and bin/reproduce (``unit``: what is
  handed out, "trial" or "job"; ``done``: when the chief may stop its workers)."""
  from absl import flags
  flags.DEFINE_integer("local_workers", None, "Run the jobs in this many worker processes on "
                       "this machine (keras-tuner's chief/worker mode on loopback; the cores "
                       "are divided between them); 0: in this process. Default: one per core "
                       "(at most 8) at the small and paper presets, 0 at tiny and for a "
                       "keras-tuner chief or worker (default_local_workers).")
  flags.DEFINE_float("worker_grace_secs", 30.0, "Chief: how long to wait for workers to be "
                     f"told to stop once {done}.")
  flags.DEFINE_float("chief_timeout_secs", 300.0,
                     f"Worker: how long to wait for {chief_waits_for}.")
  flags.DEFINE_float("reassign_after_secs", tuner_lib.REASSIGN_AFTER_SECS,
                     f"Chief: hand a {unit} out again once its worker sent no heartbeat for "
                     "this long (presumed lost).")


# Chosen from benchmarks/local_workers.py (its figures, the tiny preset's start-up cost and the
# memory per worker: docs/performance.md). More workers than cores were not measured; the cap
# bounds the memory of a default run on a large machine, one TensorFlow process per worker.
MAX_DEFAULT_LOCAL_WORKERS = 8


def local_workers_count(flag: Optional[int], preset: str) -> int:
  """What ``--local_workers`` asks for: ``flag`` when given, else `default_local_workers`."""
  return default_local_workers(preset) if flag is None else flag


def default_local_workers(preset: str, cores: Optional[int] = None) -> int:
  """``--local_workers`` when not given: one worker per core (at most
  `MAX_DEFAULT_LOCAL_WORKERS`) at the small and paper presets on a machine with 2 or more
  cores; 0 (this process) at tiny, on one core, and in a keras-tuner chief or worker, whose
  workers are started by hand."""
  cores = local_lib.available_cores() if cores is None else cores
  if preset == "tiny" or cores < 2 or tuner_lib.is_chief() or is_worker():
    return 0
  return min(cores, MAX_DEFAULT_LOCAL_WORKERS)


# ---------------------------------------------------------------------------- executors
class InProcess:
  """Runs each job not done yet in this process, in order; ``data_dir``: this machine's
  copy of the data."""

  role = "single"
  checks_data = True

  def __init__(self, root, data_dir: str = ""):
    self.root = pathlib.Path(root)
    self.runner = jobs_lib.JobRunner(self.root, tuner_lib.tuner_id(), data_dir=data_dir)

  def check_data(self, job: jobs_lib.Job) -> None:
    self.runner.check_data(job)

  def run(self, jobs: Sequence[jobs_lib.Job], progress: Optional[Progress] = None) -> None:
    for job in jobs:
      if not jobs_lib.is_done(self.root, job):
        row = self.runner.run(job)
        if progress is not None and row is not None:
          progress.trial_done(row)


class ChiefExecutor:
  """keras-tuner's chief (`tuner.Chief`): hands jobs to workers started elsewhere; it does
  not read the data (the workers may keep theirs elsewhere)."""

  role = "chief"
  checks_data = False

  def __init__(self, chief: tuner_lib.Chief):
    self.chief = chief
    self.root = chief.root

  def run(self, jobs: Sequence[jobs_lib.Job], progress: Optional[Progress] = None) -> None:
    self.chief.run(list(jobs), on_tick=progress.tick if progress is not None else None)


def is_worker() -> bool:
  """Whether this process was started as a keras-tuner worker (runs `work`, no executor)."""
  return tuner_lib.is_worker()


@contextlib.contextmanager
def open_executor(root, identity: str, local_workers: int = 0, data_dir: str = "",
                  log: Callable[[str], None] = print,
                  reassign_after_secs: float = tuner_lib.REASSIGN_AFTER_SECS,
                  worker_grace_secs: float = 30.0, chief_timeout_secs: float = 300.0
                  ) -> Iterator[Any]:
  """The executor of this process, for jobs under ``root``: a chief when
  ``KERASTUNER_TUNER_ID=chief``, a chief with ``local_workers`` worker processes when that is
  above 0, else `InProcess`. ``identity`` (`tuner.identity`) is what workers must agree on.
  ConfigError (one line) for a count below 0 or local workers asked of a keras-tuner chief or
  worker."""
  if isinstance(local_workers, bool) or not isinstance(local_workers, int) or local_workers < 0:
    raise train_config.ConfigError(f"local_workers={local_workers!r} is invalid; allowed: an "
                                   "integer >= 0 (0: run in this process)")
  if local_workers and (tuner_lib.is_chief() or is_worker()):
    raise train_config.ConfigError(
        f"local_workers={local_workers} cannot be combined with KERASTUNER_TUNER_ID="
        f"{tuner_lib.tuner_id()}; allowed: local workers, or a chief and workers started by "
        "hand (unset KERASTUNER_* for local workers)")
  if is_worker():
    raise RuntimeError("a keras-tuner worker runs `work`, not an executor")
  root = pathlib.Path(root).expanduser()
  if tuner_lib.is_chief():
    check_port_free()
    with tuner_lib.Chief(identity, root, reassign_after_secs, worker_grace_secs,
                         log=log) as chief:
      yield ChiefExecutor(chief)
  elif local_workers:
    with local_lib.LocalWorkers(root, identity, local_workers, data_dir=data_dir, log=log,
                                reassign_after_secs=reassign_after_secs,
                                worker_grace_secs=worker_grace_secs,
                                chief_timeout_secs=chief_timeout_secs) as executor:
      yield executor
  else:
    yield InProcess(root, data_dir)


def work(root, identity: str, data_dir: str = "", chief_timeout_secs: float = 300.0,
         on_trial_done: Optional[Callable[[dict], None]] = None) -> int:
  """A keras-tuner worker: runs the jobs its chief hands out, under ``root``, until told to
  stop; returns how many it ran."""
  runner = jobs_lib.JobRunner(pathlib.Path(root).expanduser(), tuner_lib.tuner_id(),
                              data_dir=data_dir, on_trial_done=on_trial_done)
  return tuner_lib.work(runner, identity, chief_timeout_secs=chief_timeout_secs)


# ---------------------------------------------------------------------------- one study
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


def run_study(executor, study, results_dir, progress: bool = True, retry_failed: bool = True,
              log: Callable[[str], None] = print) -> Dict[str, Any]:
  """Runs (or finishes) ``study`` (a `study.Prepared`, or a study to prepare) into
  ``results_dir``, which lies under ``executor.root``, with ``executor``; returns the summary
  (`summarize`). Trials whose row says ``failed`` are run again unless ``retry_failed`` is
  False; data that cannot be used stops with one DataError before any training (where the
  executor reads the data itself)."""
  start = time.time()
  prepared = study_lib.prepare(study)
  s = prepared.config
  results_dir = pathlib.Path(results_dir).expanduser()
  folder = results_dir.relative_to(executor.root).as_posix()
  jobs = list(jobs_lib.study_jobs(folder, prepared).values())
  table = results.table(results_dir)
  record_study(results_dir, s, len(jobs))
  if retry_failed:
    for key in prepared.keys:
      if table.has(key) and table.read_row(key).get("status") == "failed":
        table.delete_row(key)
  meter = Progress(prepared.keys, table.has, enabled=progress)
  if executor.checks_data and jobs:
    executor.check_data(jobs[0])  # bad data: one error now, not a failed row per trial
  if progress:
    log(f"{s['name']} ({s['design']}, {s['dataset']}, preset {s.get('preset')}): "
        f"{len(jobs)} networks, {meter.done_at_start} already in {table.path}")
  executor.run(jobs, meter)
  return summarize(prepared.keys, table, time.time() - start, executor.role)


def summarize(keys, table, elapsed: float, role: str = "single") -> Dict[str, Any]:
  """What became of the trials ``keys``: rows, counts by status, the first failure, time
  shares of training, evaluation and overhead."""
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
