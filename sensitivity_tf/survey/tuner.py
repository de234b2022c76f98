"""keras-tuner spreads the work: one Oracle that hands out jobs (`jobs.Job`: survey trials
and single networks) to the processes of keras-tuner's own chief/worker mode.

Distributed mode is keras-tuner's: set ``KERASTUNER_TUNER_ID`` (``chief`` for the chief,
``worker0``, ``worker1``, ... for the others), ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` for every process, and give them the same results directory on
shared storage. The chief runs `JobOracle` behind keras-tuner's gRPC service (`Chief`) for
the whole command, a whole survey or a whole reproduction, not one server per study;
workers (`work`) ask it for jobs until it says stop. (A single process runs its jobs itself,
without an oracle: `execution.InProcess`; local worker processes are `local_workers`.)

How the usual distributed faults are handled:

* Every process agrees on jobs by their keys (see `jobs`): the chief sends each job's key
  and spec with the trial (a string hyperparameter), so workers never rebuild the lists
  the chief builds (a growing study makes those differ between processes).
* The chief's *identity* (what it runs: the study, or the reproduction's experiments and
  preset) is a fixed hyperparameter of its space; a worker started with another study,
  dataset or configuration refuses to work for it, with one line.
* Workers send a heartbeat every ``heartbeat_secs`` while they run a job. A job whose
  worker sent nothing for ``reassign_after_secs`` (default 3 minutes) is presumed lost and
  handed out again, with a message; a long job whose worker is alive is never handed out
  twice. The default is above `run_claim.STALE_AFTER_SECS`, so by then the lost worker's
  claim on the network's run directory is stale and the new worker takes it over. A restarted worker with the same ``KERASTUNER_TUNER_ID`` gets its unfinished job
  back (it resumes from its checkpoint).
* A trial id names its job and worker (``<job key>|<tuner id>|<attempt>``), and the chief
  keeps who holds which job in ``<results_dir>/chief.json``: a restarted chief accepts the
  heartbeats and results of trials an earlier chief handed out, never hands a job that is
  still running out again, and resumes from the tables (done jobs are never redone).
  Workers wait up to ``chief_timeout_secs`` for a lost chief to come back (also when it
  died in the middle of a call: the call is sent again), then exit with one line saying
  to restart them.
* keras-tuner's own pitfalls are avoided: no RandomSearch draws (jobs are handed out in
  order), no trial files or checkpoints (the run directories hold everything; the tables
  are the truth), no ``max_consecutive_failed_trials`` (a failed trial is a row with status
  ``failed``), and the chief exits once every job is done and every live worker was told to
  stop (or after ``worker_grace_secs``), never waiting forever for a dead worker.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
import time
from concurrent import futures
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import keras_tuner as kt
from keras_tuner.src.distribute import oracle_client
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import trial as trial_module

from sensitivity_tf.store import atomic
from sensitivity_tf.survey import jobs as jobs_lib

OBJECTIVE = kt.Objective("completed", "max")  # unused for choosing; keras-tuner needs one
IDENTITY = "identity"  # the chief's identity: a fixed hyperparameter, sent with every trial
JOB = "job"            # the job a trial runs (`jobs.Job.to_json`)
STATE_FILE = "chief.json"
REASSIGN_AFTER_SECS = 180.0
HEARTBEAT_SECS = 15.0
RETRY_SECS = 1.0  # between calls to a lost chief
Status = trial_module.TrialStatus


class ChiefUnreachableError(ConnectionError):
  """A worker got no answer from the chief (one-line message)."""


class IdentityError(ConnectionError):
  """A worker started with another study or configuration than its chief (one line)."""


def is_chief() -> bool:
  return dist_utils.is_chief_oracle()


def is_worker() -> bool:
  return dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle()


def tuner_id() -> str:
  return os.environ.get("KERASTUNER_TUNER_ID", "tuner0")


def chief_address() -> str:
  return f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"


def identity(label: str, description) -> str:
  """An identity: a readable ``label`` (what the process runs) and a hash of everything
  that must agree between chief and workers (``description``, JSON-able)."""
  import hashlib
  digest = hashlib.sha256(json.dumps([label, description], sort_keys=True, default=str).encode())
  return json.dumps(dict(label=label, hash=digest.hexdigest()[:16]))


def check_identity(mine: str, chiefs: Optional[str]) -> None:
  """IdentityError (one line) unless a worker's identity equals its chief's."""
  if chiefs is None or json.loads(chiefs)["hash"] != json.loads(mine)["hash"]:
    theirs = json.loads(chiefs)["label"] if chiefs else "something else"
    ours = json.loads(mine)["label"]
    same = " with other settings" if theirs == ours else ""
    raise IdentityError(
        f"refused: this worker runs {ours}{same}, the chief at {chief_address()} runs "
        f"{theirs}; start workers with the chief's command, config and overrides")


def _trial_id(key: str, tuner: str, attempt: int) -> str:
  return f"{key}|{tuner}|{attempt}"


def _parse_trial_id(trial_id: str) -> Tuple[str, str]:
  key, tuner, _ = (trial_id.rsplit("|", 2) + ["", ""])[:3]
  return key, tuner


class JobOracle(kt.Oracle):
  """Hands out submitted jobs in order to whoever asks, judging lost workers by heartbeat.

  ``is_done(job)`` says whether a job's result is on disk; ``state_path`` (optional) is
  where who holds which job is kept for a restarted chief; ``clock`` and ``log`` are
  injectable for tests.
  """

  def __init__(self, identity_text: str, is_done: Callable[[jobs_lib.Job], bool],
               reassign_after_secs: float = REASSIGN_AFTER_SECS,
               state_path: Optional[pathlib.Path] = None,
               clock: Callable[[], float] = time.time, log: Callable[[str], None] = print):
    hp = kt.HyperParameters()
    hp.Fixed(IDENTITY, identity_text)
    super().__init__(objective=OBJECTIVE, max_trials=None, hyperparameters=hp,
                     allow_new_entries=False, tune_new_entries=False,
                     max_consecutive_failed_trials=None)
    self.identity = identity_text
    self.is_done = is_done
    self.reassign_after_secs = reassign_after_secs
    self.state_path = state_path
    self.clock = clock
    self.log = log
    self.lock = threading.RLock()
    self.pending: Dict[str, jobs_lib.Job] = {}   # submitted, not seen done, in order
    self.holders: Dict[str, str] = {}            # job key -> trial id of its holder
    self.heartbeats: Dict[str, float] = {}       # tuner id -> last time heard from
    self.attempts: Dict[str, int] = {}
    self.told_to_stop: set = set()
    self.finished = False
    now = clock()
    if state_path is not None and state_path.is_file():
      for key, trial_id in atomic.read_json(state_path).get("holders", {}).items():
        self.holders[key] = trial_id  # an earlier chief's: alive until proven silent
        self.heartbeats.setdefault(_parse_trial_id(trial_id)[1], now)

  # ------------------------------------------------------------------ the chief's side
  def submit(self, jobs: Iterable[jobs_lib.Job]) -> None:
    with self.lock:
      for job in jobs:
        self.pending.setdefault(job.key, job)

  def remaining(self, keys: Iterable[str]) -> List[str]:
    """Those of ``keys`` whose job is not done yet."""
    with self.lock:
      return [k for k in keys if k in self.pending and not self._done(k)]

  def finish(self) -> None:
    """Nothing more will be submitted: workers are told to stop once all is done."""
    with self.lock:
      self.finished = True

  def live_tuners(self) -> set:
    now = self.clock()
    return {t for t, seen in self.heartbeats.items() if now - seen < self.reassign_after_secs}

  def _done(self, key: str) -> bool:
    job = self.pending.get(key)
    if job is not None and self.is_done(job):
      del self.pending[key]
      self.holders.pop(key, None)
      return True
    return job is None

  def _save(self) -> None:
    if self.state_path is not None:
      atomic.write_json(self.state_path, dict(holders=self.holders))

  def _trial(self, trial_id: Optional[str], status: str,
             job: Optional[jobs_lib.Job] = None) -> trial_module.Trial:
    hp = self.hyperparameters.copy()
    hp.values = {IDENTITY: self.identity, **({JOB: job.to_json()} if job else {})}
    return trial_module.Trial(hyperparameters=hp, trial_id=trial_id, status=status)

  # ------------------------------------------------------------------ keras-tuner's protocol
  def get_space(self):
    return self._trial(None, Status.IDLE).hyperparameters

  def create_trial(self, tuner_id):
    with self.lock:
      now = self.clock()
      self.heartbeats[tuner_id] = now
      self.tuner_ids.add(tuner_id)
      for key, holder in list(self.holders.items()):
        if (_parse_trial_id(holder)[1] == tuner_id and key in self.pending
            and not self._done(key)):
          return self._trial(holder, Status.RUNNING, self.pending[key])  # restarted worker
      chosen, stale = None, None
      for key in list(self.pending):
        if self._done(key):
          continue
        holder = self.holders.get(key)
        if holder is None:
          chosen = key
          break
        silent = now - self.heartbeats.get(_parse_trial_id(holder)[1], 0.0)
        if stale is None and silent >= self.reassign_after_secs:
          stale = (key, _parse_trial_id(holder)[1], silent)
      if chosen is None and stale is not None:
        chosen, lost, silent = stale
        self.log(f"{chosen}: no heartbeat from {lost} for {silent / 60:.1f} min; presumed "
                 f"lost, handing it to {tuner_id}")
      if chosen is not None:
        self.attempts[chosen] = self.attempts.get(chosen, 0) + 1
        trial_id = _trial_id(chosen, tuner_id, self.attempts[chosen])
        self.holders[chosen] = trial_id
        self._save()
        return self._trial(trial_id, Status.RUNNING, self.pending[chosen])
      if self.finished and not self.pending:
        self.told_to_stop.add(tuner_id)
        return self._trial(None, Status.STOPPED)
      return self._trial(None, Status.IDLE)

  def update_trial(self, trial_id, metrics, step=0):
    """A heartbeat. Trial ids an earlier chief handed out are accepted: their job is held
    by the sender from now on, unless someone else holds it already."""
    with self.lock:
      key, tuner = _parse_trial_id(trial_id)
      self.heartbeats[tuner] = self.clock()
      self.tuner_ids.add(tuner)
      if key and key not in self.holders and not (key in self.pending and self._done(key)):
        self.holders[key] = trial_id
        self._save()
      return self._trial(trial_id, Status.RUNNING)

  def end_trial(self, trial):
    with self.lock:
      key, tuner = _parse_trial_id(trial.trial_id)
      self.heartbeats[tuner] = self.clock()
      if self.holders.get(key) == trial.trial_id:
        del self.holders[key]
        self._save()
        if not self._done(key):  # would be handed out again and again
          self.log(f"{key}: {tuner} ended it without its result on disk; not handed out "
                   "again by this chief")
          del self.pending[key]

  def _check_consecutive_failures(self):
    """Trials never fail from keras-tuner's point of view (see the module docstring)."""


class _Client(oracle_client.OracleClient):
  """keras-tuner's oracle client with our own timeout (how long to wait for the chief)."""

  def __init__(self, timeout_secs: float):
    super().__init__(None)
    self.timeout_secs = timeout_secs

  def _call(self, method, request):
    """One call, sent again until ``timeout_secs`` have passed if the chief is lost.

    ``wait_for_ready`` only waits for a chief that is not there yet: a chief that dies while
    a call is in flight fails it at once (UNAVAILABLE, within 0.1 s on loopback), which
    used to end the worker just when a restarted chief would have answered. Sending a call
    again is safe, since each is idempotent for `JobOracle`: ``create_trial`` gives a worker
    back the job it holds (also from an earlier chief, through ``chief.json``), a second
    ``end_trial`` of a trial is ignored, ``update_trial`` is a heartbeat.
    """
    import grpc
    deadline = time.monotonic() + self.timeout_secs
    while True:
      try:
        return method(request, wait_for_ready=True,
                      timeout=max(deadline - time.monotonic(), 0.01))
      except grpc.RpcError as e:
        code = e.code()
      if code != grpc.StatusCode.UNAVAILABLE or time.monotonic() >= deadline:
        raise ChiefUnreachableError(
            f"no keras-tuner chief answered at {chief_address()} within "
            f"{self.timeout_secs:g} s ({code.name}); start it (KERASTUNER_TUNER_ID=chief), "
            "check KERASTUNER_ORACLE_IP/PORT, and restart this worker")
      time.sleep(min(RETRY_SECS, max(deadline - time.monotonic(), 0.0)))

  def get_space(self):
    from keras_tuner.src import protos
    response = self._call(self.stub.GetSpace, protos.get_service().GetSpaceRequest())
    return kt.HyperParameters.from_proto(response.hyperparameters)

  def create_trial(self, tuner_id):
    from keras_tuner.src import protos
    response = self._call(self.stub.CreateTrial,
                          protos.get_service().CreateTrialRequest(tuner_id=tuner_id))
    return trial_module.Trial.from_proto(response.trial)

  def update_trial(self, trial_id, metrics, step=0):
    from keras_tuner.src import protos
    self._call(self.stub.UpdateTrial, protos.get_service().UpdateTrialRequest(
        trial_id=trial_id, metrics=metrics, step=step))

  def end_trial(self, trial):
    from keras_tuner.src import protos
    self._call(self.stub.EndTrial, protos.get_service().EndTrialRequest(trial=trial.to_proto()))


class _Heartbeat:
  """Calls ``oracle.update_trial(trial_id)`` every ``every`` seconds in a thread, while
  the job runs; a missed beat (a chief restarting) is not an error."""

  def __init__(self, oracle, trial_id: str, every: float):
    self.oracle, self.trial_id, self.every = oracle, trial_id, every
    self.stop = threading.Event()
    self.thread = threading.Thread(target=self._beat, daemon=True)

  def _beat(self):
    while not self.stop.wait(self.every):
      try:
        self.oracle.update_trial(self.trial_id, {})
      except ConnectionError:
        pass

  def __enter__(self):
    self.thread.start()
    return self

  def __exit__(self, *exc):
    self.stop.set()
    self.thread.join()


def _job_loop(oracle, runner: jobs_lib.JobRunner, tuner: str, own_identity: str,
              poll_secs: float, heartbeat_secs: float) -> int:
  """Asks ``oracle`` for jobs and runs them until told to stop; returns how many ran."""
  ran = 0
  while True:
    trial = oracle.create_trial(tuner)
    check_identity(own_identity, trial.hyperparameters.values.get(IDENTITY))
    if trial.status == Status.STOPPED:
      return ran
    if trial.status == Status.IDLE:
      time.sleep(poll_secs)
      continue
    job = jobs_lib.Job.from_json(trial.hyperparameters.values[JOB])
    with _Heartbeat(oracle, trial.trial_id, heartbeat_secs):
      runner.run(job)
    trial.status = Status.COMPLETED
    oracle.end_trial(trial)
    ran += 1


def work(runner: jobs_lib.JobRunner, identity_text: str, chief_timeout_secs: float = 300.0,
         poll_secs: float = 1.0, heartbeat_secs: float = HEARTBEAT_SECS) -> int:
  """A worker: checks that the chief runs what this process would, then runs the jobs it
  hands out until it says stop; returns how many this worker ran."""
  client = _Client(chief_timeout_secs)
  check_identity(identity_text, client.get_space().values.get(IDENTITY))
  return _job_loop(client, runner, tuner_id(), identity_text, poll_secs, heartbeat_secs)


class Chief:
  """The chief: `JobOracle` behind keras-tuner's gRPC service for the whole command.

  Use as a context manager: ``run(jobs)`` as often as needed (it returns once they are all
  done), then leaving the block tells the workers to stop and closes the server."""

  def __init__(self, identity_text: str, root, reassign_after_secs: float = REASSIGN_AFTER_SECS,
               worker_grace_secs: float = 30.0, log: Callable[[str], None] = print,
               address: Optional[str] = None):
    self.root = pathlib.Path(root)
    self.address = address or chief_address()  # "host:0": a free port, then `self.port`
    self.port: Optional[int] = None
    self.worker_grace_secs = worker_grace_secs
    self.log = log
    self.oracle = JobOracle(identity_text, lambda j: jobs_lib.is_done(self.root, j),
                            reassign_after_secs, state_path=self.root / STATE_FILE, log=log)
    self.server = None

  def __enter__(self) -> "Chief":
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief
    self.root.mkdir(parents=True, exist_ok=True)
    # No SO_REUSEPORT: a second chief on a port in use must fail, not share it.
    self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                              options=[("grpc.so_reuseport", 0)])
    protos.get_service_grpc().add_OracleServicer_to_server(
        oracle_chief.OracleServicer(self.oracle), self.server)
    try:
      bound = self.server.add_insecure_port(self.address)
    except RuntimeError:
      bound = 0
    if bound == 0:
      raise ChiefUnreachableError(
          f"the chief cannot listen on {self.address} (port in use, or not this "
          "machine's address); choose another KERASTUNER_ORACLE_PORT")
    self.port = bound
    self.server.start()
    return self

  def run(self, jobs: List[jobs_lib.Job], on_tick: Optional[Callable[[], None]] = None,
          poll_secs: float = 0.5) -> None:
    """Hands ``jobs`` out and returns once each is done."""
    self.oracle.submit(jobs)
    keys = [j.key for j in jobs]
    while self.oracle.remaining(keys):
      if on_tick:
        on_tick()
      time.sleep(poll_secs)
    if on_tick:
      on_tick()

  def __exit__(self, exc_type, *exc):
    self.oracle.finish()
    if exc_type is None:
      deadline = time.time() + self.worker_grace_secs
      while time.time() < deadline and self.oracle.live_tuners() - self.oracle.told_to_stop:
        time.sleep(0.5)
    self.server.stop(grace=1.0)
