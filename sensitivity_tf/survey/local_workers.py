"""Local workers (``--local_workers=N``): keras-tuner's chief/worker mode on one machine, so
that a survey or a reproduction uses every core.

`LocalWorkers` is an executor (see `execution`): this process becomes the chief
(`tuner.Chief` on a free loopback port; it trains nothing) and starts N worker processes
(``python -m sensitivity_tf.survey.local_workers``), each the ordinary keras-tuner worker of
the distributed runs (`tuner.work`, same heartbeats, same job keys), so everything the
distributed mode guarantees holds here too. What is local:

* **threads**: each worker's TensorFlow gets ``max(1, cores // N)`` intra-op and inter-op
  threads (``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS``, and ``OMP_NUM_THREADS``
  for NumPy's BLAS), ``cores`` being the CPUs this process may run on [ours];
* **supervision**: a worker that dies (``kill -9``, a crash) is started again under the same
  ``KERASTUNER_TUNER_ID``, so the chief gives it its unfinished job back and the network
  resumes from its checkpoint; after `MAX_RESTARTS` deaths of one worker, or a worker that
  stops with a one-line error (exit status 2), the command stops with one line;
* **the whole command killed**: each worker watches its parent and exits within a second of
  the chief's death (also ``kill -9``), so no orphan keeps training; running the same
  command again resumes from the tables and ``chief.json`` like a restarted chief;
* **logs**: each worker's output goes to ``<root>/local_workers/worker<i>.log``.

Since the workers divide the cores, a network may compute with fewer threads than in one
process. On this project's 2-core CPU machine that changed no bit (tested: the tables of a
local-worker run equal a one-process run's); oneDNN warns that other thread counts may round
differently elsewhere.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import tuner as tuner_lib

MAX_RESTARTS = 3            # deaths of one worker before the command gives up
LOG_DIR = "local_workers"
EXIT_ERROR = 2              # a worker's one-line error: restarting it would not help
EXIT_PARENT_GONE = 3        # the chief died; the worker stopped with it
STOP_SECS = 30.0            # how long stopped workers get to exit before they are killed


class LocalWorkerError(RuntimeError):
  """A local worker could not go on (one-line message naming its log)."""


def available_cores() -> int:
  """CPUs this process may run on (its affinity mask where the OS has one)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:
    return os.cpu_count() or 1


def threads_per_worker(count: int, cores: Optional[int] = None) -> int:
  """TensorFlow threads each of ``count`` workers gets: ``cores // count``, at least 1."""
  return max(1, (cores or available_cores()) // count)


def last_line(path: pathlib.Path) -> str:
  """The last non-empty line of a worker's log ('' if none)."""
  try:
    lines = [l.strip() for l in path.read_text(errors="replace").splitlines() if l.strip()]
  except FileNotFoundError:
    return ""
  return lines[-1] if lines else ""


class LocalWorkers:
  """The executor of ``--local_workers=count`` (module docstring); a context manager."""

  role = "local"
  checks_data = True

  def __init__(self, root, identity: str, count: int, data_dir: str = "",
               log: Callable[[str], None] = print,
               reassign_after_secs: float = tuner_lib.REASSIGN_AFTER_SECS,
               worker_grace_secs: float = 30.0, chief_timeout_secs: float = 300.0,
               cores: Optional[int] = None):
    self.root = pathlib.Path(root).expanduser().resolve()
    self.identity = identity
    self.count = count
    self.data_dir = data_dir or ""
    self.log = log
    self.chief_timeout_secs = chief_timeout_secs
    self.cores = cores or available_cores()
    self.threads = threads_per_worker(count, self.cores)
    self.chief = tuner_lib.Chief(identity, self.root, reassign_after_secs, worker_grace_secs,
                                 log=log, address="127.0.0.1:0")
    self.procs: List[Optional[subprocess.Popen]] = [None] * count
    self.deaths = [0] * count
    self._checker: Optional[jobs_lib.JobRunner] = None

  def log_path(self, i: int) -> pathlib.Path:
    return self.root / LOG_DIR / f"worker{i}.log"

  # ------------------------------------------------------------------ processes
  def _environment(self, i: int) -> Dict[str, str]:
    package_root = str(pathlib.Path(__file__).resolve().parents[2])
    threads = str(self.threads)
    return dict(os.environ, KERASTUNER_TUNER_ID=f"worker{i}",
                KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(self.chief.port),
                TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads,
                OMP_NUM_THREADS=threads, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join(filter(None, [package_root,
                                                         os.environ.get("PYTHONPATH")])))

  def _start(self, i: int) -> None:
    spec = dict(root=str(self.root), identity=self.identity, data_dir=self.data_dir,
                chief_timeout_secs=self.chief_timeout_secs, parent=os.getpid())
    path = self.log_path(i)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as out:
      out.write(f"--- worker{i} started {datetime.datetime.now().isoformat()} by chief "
                f"pid {os.getpid()}\n")
      out.flush()
      self.procs[i] = subprocess.Popen(
          [sys.executable, "-m", __name__, json.dumps(spec)], env=self._environment(i),
          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

  def supervise(self) -> None:
    """Starts again every worker that died; LocalWorkerError when one cannot go on."""
    for i, p in enumerate(self.procs):
      code = p.poll() if p is not None else None
      if code is None:
        continue
      why = last_line(self.log_path(i)) or f"exit status {code}"
      if code == EXIT_ERROR:
        raise LocalWorkerError(f"worker{i} stopped: {why} (log: {self.log_path(i)})")
      self.deaths[i] += 1
      if self.deaths[i] > MAX_RESTARTS:
        raise LocalWorkerError(f"worker{i} died {self.deaths[i]} times, last with exit status "
                               f"{code} ({why}); see {self.log_path(i)}")
      self.log(f"worker{i} died (exit status {code}); starting it again: it gets its job "
               "back and resumes the network from its checkpoint")
      self._start(i)

  def _stop_all(self, grace: float) -> None:
    deadline = time.time() + grace
    for p in self.procs:
      if p is None:
        continue
      try:
        p.wait(timeout=max(deadline - time.time(), 0.1))
      except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

  def __enter__(self) -> "LocalWorkers":
    self.chief.__enter__()
    try:
      for i in range(self.count):
        self._start(i)
    except BaseException:
      self.__exit__(*sys.exc_info())
      raise
    self.log(f"local workers: {self.count} processes on 127.0.0.1:{self.chief.port}, "
             f"{self.threads} TensorFlow thread(s) each ({self.cores} cores); logs in "
             f"{self.root / LOG_DIR}")
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    try:
      self.chief.__exit__(exc_type, exc, tb)  # on success, the workers are told to stop
    finally:
      self._stop_all(STOP_SECS if exc_type is None else 0.0)

  # ------------------------------------------------------------------ the executor
  def check_data(self, job: jobs_lib.Job) -> None:
    """Loads ``job``'s dataset in this process (once per dataset): data that cannot be used
    stops the command with one line instead of failing every trial in the workers."""
    if self._checker is None:
      self._checker = jobs_lib.JobRunner(self.root, "chief", data_dir=self.data_dir)
    self._checker.check_data(job)

  def run(self, jobs: Sequence[jobs_lib.Job], progress=None) -> None:
    def tick():
      self.supervise()
      if progress is not None:
        progress.tick()
    self.chief.run(list(jobs), on_tick=tick)


def _exit_with(parent: int) -> None:
  """Ends this process within a second once ``parent`` (the chief) is gone."""
  def watch():
    while os.getppid() == parent:
      time.sleep(1.0)
    os._exit(EXIT_PARENT_GONE)
  threading.Thread(target=watch, daemon=True).start()


def main(argv: List[str]) -> int:
  """A local worker: ``argv[1]`` is its JSON spec (root, identity, data_dir,
  chief_timeout_secs, parent); the chief sets the environment (`LocalWorkers._environment`)."""
  spec = json.loads(argv[1])
  _exit_with(int(spec["parent"]))
  from sensitivity_tf.data.validation import DataError
  from sensitivity_tf.store import environment
  from sensitivity_tf.train.train_config import ConfigError
  environment.configure_devices()
  runner = jobs_lib.JobRunner(spec["root"], tuner_lib.tuner_id(), data_dir=spec["data_dir"])
  try:
    ran = tuner_lib.work(runner, spec["identity"], chief_timeout_secs=spec["chief_timeout_secs"])
  except (ConfigError, DataError, ConnectionError) as e:
    print(f"error: {e}", flush=True)
    return EXIT_ERROR
  print(f"{tuner_lib.tuner_id()}: ran {ran} jobs", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
