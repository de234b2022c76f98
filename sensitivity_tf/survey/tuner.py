"""keras-tuner drives the survey: an Oracle that hands out the study's trials, a Tuner that
runs them, and keras-tuner's own chief/worker mode to spread them over processes and
machines.

keras-tuner's documented pitfalls, and what we do about each:

* RandomSearch stops after ~20 consecutive duplicate draws, so a small space would end a
  survey early: `SurveyOracle` never draws; it walks the study's pre-sampled, seeded list
  of trials (`design.build_trials`), one hyperparameter ``trial_index``.
* GridSearch and Hyperband do not fit (resume bugs, partial budgets): not used.
* Memory grows across trials unless the Keras session is cleared: the runner clears it.
* Trial checkpoints are large: `SurveyTuner.save_model` saves nothing; the run directories
  hold the models (``keep="tables"`` deletes them once a row is written).
* ``max_consecutive_failed_trials`` (default 3) ends a search on a run of failures: a trial
  never raises; a failure is a row with status ``failed``, and keras-tuner sees a completed
  trial.
* ``trial.json`` is not written atomically: nothing is read back from keras-tuner's files.
  The results table is the truth: the oracle hands out only trials without a row, and the
  project directory is overwritten at every start.
* A chief may wait forever for workers (keras-tuner's chief exits only when every worker
  has been told to stop and no trial is ongoing, so one dead worker blocks it): our chief
  exits once every trial has a row, after telling the live workers to stop or waiting
  ``worker_grace_secs`` for them. A trial handed to a worker that died is handed out again
  once no fresh trial is left and it has been out for ``reassign_after_secs``.
* Workers wait up to an hour for a chief: they give up after ``chief_timeout_secs``.

Distributed mode is keras-tuner's: set ``KERASTUNER_TUNER_ID`` (``chief`` for the chief,
``worker0``, ``worker1``, ... for the others), ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` for every process, and give them the same results directory on
shared storage.
"""

from __future__ import annotations

import os
import time
from concurrent import futures
from typing import Callable, Dict, List, Optional

import keras_tuner as kt
from keras_tuner.src.distribute import oracle_client
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import trial as trial_module

from sensitivity_tf.row_table import RowTable
from sensitivity_tf.survey.design import Trial
from sensitivity_tf.survey.runner import TrialRunner

OBJECTIVE = kt.Objective("completed", "max")  # unused for choosing; keras-tuner needs one


class ChiefUnreachableError(ConnectionError):
  """A worker got no answer from the chief (one-line message)."""


def is_chief() -> bool:
  return dist_utils.is_chief_oracle()


def is_worker() -> bool:
  return dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle()


class SurveyOracle(kt.Oracle):
  """Hands out the study's trials in order, skipping those with a row in ``table``."""

  def __init__(self, trials: List[Trial], table: RowTable, reassign_after_secs: float = 1800.0,
               clock: Callable[[], float] = time.time, **kwargs):
    hp = kt.HyperParameters()
    hp.Int("trial_index", 0, max(len(trials) - 1, 0))
    super().__init__(objective=OBJECTIVE, max_trials=None, hyperparameters=hp,
                     allow_new_entries=False, tune_new_entries=False,
                     max_consecutive_failed_trials=None, **kwargs)
    self.survey_trials = trials
    self.table = table
    self.reassign_after_secs = reassign_after_secs
    self.clock = clock
    self.handed_out: Dict[int, float] = {}

  def done(self) -> bool:
    return all(self.table.has(t.key) for t in self.survey_trials)

  def populate_space(self, trial_id):
    now = self.clock()
    stale = None
    for trial in self.survey_trials:
      if self.table.has(trial.key):
        continue
      given = self.handed_out.get(trial.index)
      if given is None:
        self.handed_out[trial.index] = now
        return {"status": trial_module.TrialStatus.RUNNING,
                "values": {"trial_index": trial.index}}
      if stale is None and now - given >= self.reassign_after_secs:
        stale = trial
    if stale is not None:  # its worker is presumed dead; hand it out again
      self.handed_out[stale.index] = now
      return {"status": trial_module.TrialStatus.RUNNING,
              "values": {"trial_index": stale.index}}
    if self.done():
      return {"status": trial_module.TrialStatus.STOPPED}
    return {"status": trial_module.TrialStatus.IDLE}

  def _check_consecutive_failures(self):
    """Trials never fail from keras-tuner's point of view (see the module docstring)."""


class SurveyTuner(kt.engine.base_tuner.BaseTuner):
  """Runs the trials the oracle hands out with a `TrialRunner`."""

  def __init__(self, oracle: SurveyOracle, runner: TrialRunner,
               on_trial_done: Optional[Callable[[dict], None]] = None,
               poll_secs: float = 1.0, serve_options: Optional[dict] = None, **kwargs):
    self.runner = runner
    self.trials = oracle.survey_trials
    self.on_trial_done = on_trial_done
    self.poll_secs = poll_secs
    self.serve_options = serve_options or {}
    super().__init__(oracle=oracle, **kwargs)

  def run_trial(self, trial, *args, **kwargs):
    row = self.runner.run(self.trials[trial.hyperparameters.get("trial_index")])
    if self.on_trial_done:
      self.on_trial_done(row)
    return {"completed": 1.0}

  def save_model(self, trial_id, model, step=0):
    """Trial checkpoints are not kept: the run directories hold what is needed."""

  def load_model(self, trial):
    raise NotImplementedError("survey models live in their run directories")

  def search(self, *args, **kwargs):
    """keras-tuner's search loop, with a pause instead of a busy loop on IDLE and, on the
    chief, `serve` instead of keras-tuner's chief loop."""
    if is_chief():
      self.save()
      serve(self.oracle, self.serve_options)
      return
    self.on_search_begin()
    while True:
      if is_worker() and all(self.runner.table.has(t.key) for t in self.trials):
        break  # nothing left: do not wait on a chief that may be gone
      trial = self._create_trial()
      if trial.status == trial_module.TrialStatus.STOPPED:
        break
      if trial.status == trial_module.TrialStatus.IDLE:
        time.sleep(self.poll_secs)
        continue
      self.on_trial_begin(trial)
      self._try_run_and_update_trial(trial, *args, **kwargs)
      self.on_trial_end(trial)
    self.on_search_end()

  def _create_trial(self):
    import grpc
    try:
      return self.oracle.create_trial(self.tuner_id)
    except grpc.RpcError as e:
      address = (f"{os.environ.get('KERASTUNER_ORACLE_IP')}:"
                 f"{os.environ.get('KERASTUNER_ORACLE_PORT')}")
      raise ChiefUnreachableError(
          f"no keras-tuner chief answered at {address} within {oracle_client.TIMEOUT:g} s "
          f"({e.code().name}); start it with KERASTUNER_TUNER_ID=chief, or check "
          "KERASTUNER_ORACLE_IP/PORT") from None


def serve(oracle: SurveyOracle, options: dict) -> None:
  """The chief: keras-tuner's gRPC oracle service, until every trial has a row."""
  import grpc
  from keras_tuner.src import protos
  from keras_tuner.src.distribute import oracle_chief

  worker_grace = options.get("worker_grace_secs", 30.0)
  on_progress = options.get("on_progress")
  server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
  servicer = oracle_chief.OracleServicer(oracle)
  protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
  address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
  if server.add_insecure_port(address) == 0:
    raise RuntimeError(f"the chief cannot listen on {address}")
  server.start()
  done_since = None
  try:
    while True:
      time.sleep(0.5)
      if on_progress:
        on_progress()
      if oracle.done():
        done_since = done_since or time.time()
        if not oracle.tuner_ids or time.time() - done_since > worker_grace:
          break
  finally:
    server.stop(grace=1.0)


def set_chief_timeout(secs: float) -> None:
  """How long a worker waits for the chief before giving up (keras-tuner: one hour)."""
  oracle_client.TIMEOUT = secs
