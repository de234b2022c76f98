"""The survey: designs, identities, the results table, faults, resume, chief and workers."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from absl.testing import parameterized

from conftest import REPO, assert_one_line_error, run_bin
from sensitivity_tf.commands import cli
from sensitivity_tf.commands import config_files
from sensitivity_tf.store import run_claim
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.store.row_table import RowTable
from sensitivity_tf.survey import cost
from sensitivity_tf.survey import design
from sensitivity_tf.survey import driver
from sensitivity_tf.survey import jobs
from sensitivity_tf.survey import results
from sensitivity_tf.survey import space
from sensitivity_tf.survey import study
from sensitivity_tf.survey import tuner

SETTINGS_ID = "abc123"
common = config_files.load_config_module(str(REPO / "configs" / "_common.py"))


def tiny_study(design_name="random", **overrides):
  kwargs = dict(factor="random_labels") if design_name == "pairs" else {}
  if design_name == "grid":
    kwargs = dict(grid=dict(depth=[1, 2], width=[8, 16]))
  build = {"random": common.default_survey,
           "pairs": lambda p: common.pairs_study(overrides.get("factor", "random_labels"), p),
           "grid": common.grid_study}[design_name]
  cfg = build("tiny").to_dict()
  cfg.update(kwargs, name="t")
  cfg.update(overrides)
  return cfg


class DesignTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*design.FACTORS)
  def test_pairs_differ_in_exactly_the_factor(self, factor):
    s = tiny_study("pairs", factor=factor, num_pairs=6)
    trials = design.build_trials(s, SETTINGS_ID)
    self.assertLen(trials, 12)
    field = design.FACTORS[factor][0]
    for bad, good in zip(trials[0::2], trials[1::2]):
      self.assertEqual((bad.role, good.role), ("bad", "good"))
      self.assertEqual(bad.pair_id, good.pair_id)
      diff = {k for k in bad.config if bad.config[k] != good.config[k]}
      self.assertEqual(diff, {field})
      self.assertNotEqual(bad.key, good.key)
    bads = [t.config[field] for t in trials[0::2]]
    goods = [t.config[field] for t in trials[1::2]]
    if factor == "random_labels":
      self.assertEqual((set(bads), set(goods)), ({1.0}, {0.0}))
    elif factor == "augmentation":
      self.assertEqual((set(bads), set(goods)), ({False}, {True}))
    elif factor == "full_batch":
      self.assertEqual(set(bads), {0})
      self.assertNotIn(0, goods)
    else:
      self.assertEqual(set(goods), {"relu"})
      self.assertNotIn("relu", bads)
    self.assertLen({t.pair_id for t in trials}, 6)

  def test_deterministic_in_the_seed_and_not_in_field_order(self):
    s = tiny_study(num_models=10)
    a = design.build_trials(s, SETTINGS_ID)
    b = design.build_trials(dict(s, space=dict(reversed(list(s["space"].items())))), SETTINGS_ID)
    c = design.build_trials(dict(s, seed=1), SETTINGS_ID)
    self.assertEqual([t.config for t in a], [t.config for t in b])
    self.assertNotEqual([t.key for t in a], [t.key for t in c])
    # Growing a study keeps its first trials.
    longer = design.build_trials(dict(s, num_models=15), SETTINGS_ID)
    self.assertEqual([t.key for t in longer[:10]], [t.key for t in a])

  def test_learning_rate_follows_optimizer_ranges(self):
    rng = np.random.default_rng(0)
    for _ in range(200):
      drawn = space.draw(space.default_space(), rng)
      low, high = space.LEARNING_RATE_RANGES[drawn["optimizer"]]
      self.assertBetween(drawn["learning_rate"], low, high)

  def test_grid_is_complete(self):
    s = tiny_study("grid", grid=dict(depth=[1, 2, 3], width=[8, 16], optimizer=["sgd", "adam"]),
                   seeds_per_cell=2)
    trials = design.build_trials(s, SETTINGS_ID)
    self.assertLen(trials, 3 * 2 * 2 * 2)
    cells = pd.DataFrame([t.config for t in trials]).groupby(["depth", "width", "optimizer"]).size()
    self.assertEqual(set(cells.values), {2})

  @pytest.mark.slow
  def test_trial_key_is_a_hash_of_what_defines_the_trial(self):
    cfg = train_config.default_config().to_dict()
    key = design.trial_key(cfg, SETTINGS_ID)
    self.assertEqual(design.trial_key(dict(reversed(list(cfg.items()))), SETTINGS_ID), key)
    for irrelevant in (dict(data_dir="/elsewhere"), dict(progress=False),
                       dict(checkpoint_every_secs=5.0)):
      self.assertEqual(design.trial_key(dict(cfg, **irrelevant), SETTINGS_ID), key)
    for field in train_config.IDENTITY_FIELDS:
      changed = dict(cfg, **{field: "x" if isinstance(cfg[field], str) else cfg[field] + 1})
      self.assertNotEqual(design.trial_key(changed, SETTINGS_ID), key, field)
    self.assertNotEqual(design.trial_key(cfg, "other"), key)
    self.assertEqual(design.training_key(cfg), design.training_key(dict(cfg, data_dir="/x")))
    # Stable across processes (no dependence on hash randomization or run time).
    code = ("from sensitivity_tf.train import train_config; from sensitivity_tf.survey import design;"
            f"print(design.trial_key(train_config.default_config().to_dict(), '{SETTINGS_ID}'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, PYTHONHASHSEED="123"))
    self.assertEqual(out.stdout.strip(), key)

  def test_invalid_studies(self):
    for overrides, message in ((dict(design="bayes"), "design='bayes' is invalid"),
                               (dict(dataset="svhn"), "dataset='svhn' is invalid"),
                               (dict(num_models=0), "num_models=0 is invalid"),
                               (dict(fixed=dict(widht=3)), "fixed field 'widht'"),
                               (dict(space=dict(colour=[1])), "space field 'colour'"),
                               (dict(fixed=dict(max_steps=-1)), "max_steps=-1 is invalid"),
                               (dict(evaluation=dict(num_samples=7)), "num_samples=7")):
      with self.assertRaisesRegex(train_config.ConfigError, message):
        study.validate(tiny_study(**overrides))


class OracleTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.now = [0.0]
    self.messages = []
    self.done = set()
    self.jobs = [jobs.Job(f"k{i}", dict(kind="trial")) for i in range(3)]

  def oracle(self, state_path=None):
    o = tuner.JobOracle(tuner.identity("test", 1), lambda j: j.key in self.done,
                        reassign_after_secs=100, state_path=state_path,
                        clock=lambda: self.now[0], log=self.messages.append)
    o.submit(self.jobs)
    return o

  @staticmethod
  def key(trial):
    return jobs.Job.from_json(trial.hyperparameters.values[tuner.JOB]).key

  def test_hands_out_jobs_in_order_by_key_then_idle_then_stop(self):
    oracle = self.oracle()
    self.done.add("k1")
    a, b = oracle.create_trial("w0"), oracle.create_trial("w1")
    self.assertEqual([self.key(a), self.key(b)], ["k0", "k2"])
    self.assertEqual(oracle.create_trial("w2").status, "IDLE")
    self.assertEqual(self.key(oracle.create_trial("w0")), "k0")  # a restarted w0 resumes it
    self.done.update({"k0", "k2"})
    self.assertEqual(oracle.create_trial("w2").status, "IDLE")  # more may be submitted
    oracle.finish()
    self.assertEqual(oracle.create_trial("w2").status, "STOPPED")

  def test_heartbeat_keeps_a_long_trial_and_silence_reassigns_it(self):
    oracle = self.oracle()
    self.done.update({"k1", "k2"})
    trial = oracle.create_trial("w0")
    for t in (60.0, 120.0, 180.0, 240.0):  # a long trial, alive: 4 minutes of heartbeats
      self.now[0] = t
      oracle.update_trial(trial.trial_id, {})
      self.assertEqual(oracle.create_trial("w1").status, "IDLE")
    self.assertEmpty(self.messages)
    self.now[0] = 240.0 + 99.0
    self.assertEqual(oracle.create_trial("w1").status, "IDLE")
    self.now[0] = 240.0 + 101.0  # w0 silent for longer than reassign_after_secs
    again = oracle.create_trial("w1")
    self.assertEqual(self.key(again), "k0")
    self.assertNotEqual(again.trial_id, trial.trial_id)
    self.assertLen(self.messages, 1)
    self.assertIn("k0: no heartbeat from w0 for 1.7 min; presumed lost, handing it to w1",
                  self.messages[0])
    # By the default reassignment time, the lost worker's run-directory claim is stale.
    self.assertGreater(tuner.REASSIGN_AFTER_SECS, run_claim.STALE_AFTER_SECS)
    self.assertGreater(tuner.REASSIGN_AFTER_SECS, 5 * tuner.HEARTBEAT_SECS)

  def test_restarted_chief_knows_earlier_trials(self):
    with tempfile.TemporaryDirectory() as d:
      state = pathlib.Path(d, "chief.json")
      first = self.oracle(state)
      held = first.create_trial("w0")  # k0, running on w0 when the chief dies
      second = self.oracle(state)      # the restarted chief
      other = second.create_trial("w1")
      self.assertEqual(self.key(other), "k1")  # k0 is not handed out twice
      second.update_trial(held.trial_id, {})   # w0's heartbeat: an unknown trial id
      held.status = "COMPLETED"
      self.done.add("k0")
      second.end_trial(held)                   # its end: accepted, no KeyError
      self.assertEqual(self.key(second.create_trial("w0")), "k2")
      self.assertEmpty(self.messages)

  def test_identity_check(self):
    mine = tuner.identity("survey a on mnist", dict(x=1))
    tuner.check_identity(mine, tuner.identity("survey a on mnist", dict(x=1)))
    with self.assertRaisesRegex(tuner.IdentityError, "this worker runs survey a on mnist with "
                                "other settings, the chief"):
      tuner.check_identity(mine, tuner.identity("survey a on mnist", dict(x=2)))
    with self.assertRaisesRegex(tuner.IdentityError, "the chief at .* runs survey b on cifar10"):
      tuner.check_identity(mine, tuner.identity("survey b on cifar10", dict(x=1)))


DYING_CHIEF = """
import sys, time
from sensitivity_tf.survey import tuner
class Hanging(tuner.JobOracle):
  def create_trial(self, tuner_id):
    print("in create_trial", flush=True)
    time.sleep(600)  # killed while the worker's call is in flight
chief = tuner.Chief(tuner.identity("test", 1), sys.argv[1])
chief.oracle.__class__ = Hanging
with chief:
  print("serving", flush=True)
  time.sleep(600)
"""


class ChiefLostMidCallTest(tf.test.TestCase):
  """A chief SIGKILLed while a worker's call is in flight (the restarted-chief flake of
  tests/test_distributed.py): the worker's call fails at once with UNAVAILABLE; it must be
  sent again, and answered by the restarted chief, not end the worker."""

  @staticmethod
  def worker_env():
    """worker0's keras-tuner variables, pointing at a free loopback port."""
    with socket.socket() as s:
      s.bind(("127.0.0.1", 0))
      port = str(s.getsockname()[1])
    return dict(KERASTUNER_TUNER_ID="worker0", KERASTUNER_ORACLE_IP="127.0.0.1",
                KERASTUNER_ORACLE_PORT=port)

  @pytest.mark.slow
  def test_call_in_flight_when_the_chief_dies_is_answered_by_the_next_chief(self):
    env = self.worker_env()
    with tempfile.TemporaryDirectory() as d, mock.patch.dict(os.environ, env):
      dying = subprocess.Popen([sys.executable, "-c", DYING_CHIEF, d], cwd=REPO,
                               env=dict(os.environ, PYTHONPATH=str(REPO)),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
      try:
        self.assertEqual(dying.stdout.readline().strip(), "serving")
        client = tuner._Client(timeout_secs=120)
        answer = {}

        def ask():
          try:
            answer["trial"] = client.create_trial("worker0")
          except Exception as e:  # pylint: disable=broad-except
            answer["error"] = e

        asking = threading.Thread(target=ask)
        asking.start()
        self.assertEqual(dying.stdout.readline().strip(), "in create_trial")
        dying.kill()  # the call is in flight
        dying.wait(timeout=30)
        time.sleep(2.0)  # the call was lost; the worker must not give up
        self.assertTrue(asking.is_alive(), answer)
        job = jobs.Job("k0", dict(kind=jobs.NETWORK, folder="net"))  # not done: no run yet
        with tuner.Chief(tuner.identity("test", 1), d) as chief:  # the restarted chief
          chief.oracle.submit([job])
          asking.join(timeout=60)
          self.assertNotIn("error", answer)
          trial = answer["trial"]
          self.assertEqual(jobs.Job.from_json(trial.hyperparameters.values[tuner.JOB]).key,
                           "k0")
          self.assertEqual(client.create_trial("worker0").trial_id, trial.trial_id)  # again
      finally:
        if dying.poll() is None:
          dying.kill()
        dying.wait()

  def test_a_chief_that_stays_away_still_ends_the_worker_with_one_line(self):
    env = self.worker_env()
    with mock.patch.dict(os.environ, env):
      start = time.monotonic()
      with self.assertRaisesRegex(tuner.ChiefUnreachableError,
                                  r"no keras-tuner chief answered at 127\.0\.0\.1:\d+ within 2 s"):
        tuner._Client(timeout_secs=2).create_trial("worker0")
      self.assertBetween(time.monotonic() - start, 1.5, 30)


class CostTest(tf.test.TestCase):
  """The dry-run estimate against recorded rows made with a known cost per step."""

  A, B = 0.002, 3e-9  # seconds per step = A + B x batch x weights

  def test_estimate_from_recorded_rows(self):
    s = tiny_study(num_models=3)
    trials = design.build_trials(s, study.evaluation_settings(s).settings_id)
    with tempfile.TemporaryDirectory() as d:
      table = results.table(d)
      for i, (width, batch, steps) in enumerate(((16, 32, 40), (64, 0, 30), (256, 128, 60))):
        cfg = dict(trials[0].config, width=width, batch_size=batch, max_steps=60)
        wall = steps * (self.A + self.B * cost.batch_weights(cfg))
        table.write_row(f"r{i}", dict(trial_key=f"r{i}", status="ok", steps=steps,
                                      train_wall_secs=wall, eval_wall_secs=2.0 * (i + 1),
                                      settings_id="S", **{k: cfg[k] for k in (
                                          "dataset", "depth", "width", "batch_size",
                                          "train_subset", "max_steps")}))
      recorded = cost.Recorded.find([d])
      self.assertLen(recorded.step_secs, 3)
      a, b = recorded.step_model()
      self.assertAllClose([a, b], [self.A, self.B], rtol=1e-6)
      need = cost.Need("study t", [t.config for t in trials], [True, False, False], True, "S")
      e = cost.estimate([need], recorded)
      expected = sum(t.config["max_steps"] * (self.A + self.B * cost.batch_weights(t.config))
                     for t in trials[1:])
      self.assertAllClose(e["at_most"], expected, rtol=1e-6)
      self.assertAllClose(e["likely"], expected * 40 / 60, rtol=1e-6)  # median share 40/60
      self.assertEqual((e["evaluate"], e["missing_eval"]), (4.0 * 2, 0))  # median 4 s each
      other = cost.Need("study u", [trials[0].config], [False], True, "never-recorded")
      self.assertEqual(cost.estimate([other], recorded)["missing_eval"], 1)
      text = cost.summary([need, other], recorded)
      self.assertIn("study t: 3 networks, 1 done, 2 to train and evaluate", text)
      self.assertIn("total: 4 networks, 3 still to train, 3 evaluations", text)
      self.assertIn("plus 1 evaluations with settings never recorded here", text)
    self.assertIn("estimate: none", cost.summary([need], cost.Recorded()))
    done = cost.Need("study t", [trials[0].config], [True], True, "S")
    self.assertIn("nothing to train", cost.summary([done], cost.Recorded()))


class RowTableTest(tf.test.TestCase):

  def test_rows_replace_not_duplicate_and_read_in_one_call(self):
    import pyarrow as pa
    with tempfile.TemporaryDirectory() as d:
      t = RowTable(d, pa.schema([("k", pa.string()), ("v", pa.float64()), ("n", pa.int64())]))
      self.assertLen(t.read(), 0)
      t.write_row("a", dict(k="a", v=1.0))
      t.write_row("b", dict(k="b", v=None, n=3))
      t.write_row("a", dict(k="a", v=2.0, n=1))
      pathlib.Path(d, ".tmp-c.parquet.xyz").write_bytes(b"half-written")
      frame = pd.read_parquet(d).sort_values("k")
      self.assertEqual(frame.k.tolist(), ["a", "b"])
      self.assertEqual(frame.v.tolist()[0], 2.0)
      self.assertTrue(np.isnan(frame.v.tolist()[1]))
      with self.assertRaisesRegex(KeyError, "not in the table's schema"):
        t.write_row("c", dict(k="c", extra=1))


  def test_a_table_belongs_to_one_tool(self):
    from sensitivity_tf.store import evaluations
    from sensitivity_tf.store.row_table import TableError
    with tempfile.TemporaryDirectory() as d:
      survey_table = results.table(d)
      survey_table.write_row("k", dict(trial_key="k", status="ok"))
      with self.assertRaisesRegex(TableError, r"holds survey rows; this tool writes "
                                  "sensitivity_summary rows"):
        evaluations.summary_table(survey_table.path).write_row("r", dict(run_dir="r"))
      pathlib.Path(survey_table.path, "_table.json").unlink()  # a table from before markers
      with self.assertRaisesRegex(TableError, "holds rows of another schema"):
        evaluations.summary_table(survey_table.path).check_writable()
      results.table(d).write_row("k2", dict(trial_key="k2"))  # the same tool still may
      self.assertLen(pd.read_parquet(survey_table.path), 2)  # the marker is not a row
      pathlib.Path(d, "file").write_text("x")
      with self.assertRaisesRegex(TableError, "is a file"):
        evaluations.summary_table(pathlib.Path(d, "file")).check_writable()


class OneStudyPerResultsDirTest(tf.test.TestCase):

  def test_another_study_is_refused_a_grown_one_is_not(self):
    s = tiny_study(num_models=4)
    recorded = study.describe(study.validate(s))
    study.check_same_study(recorded, study.validate(dict(s, num_models=40)), "here")
    study.check_same_study(recorded, study.validate(dict(s, data_dir="/elsewhere")), "here")
    for other in (dict(s, dataset="mnist"), dict(s, seed=1), tiny_study("grid"),
                  dict(s, evaluation=dict(s["evaluation"], bins=32))):
      with self.assertRaisesRegex(train_config.ConfigError, "here holds the results of another "
                                  "study"):
        study.check_same_study(recorded, study.validate(other), "here")

  @pytest.mark.slow
  def test_bin_survey_refuses_another_study_before_any_training(self):
    with tempfile.TemporaryDirectory() as d:
      grid = study.validate(common.grid_study("tiny"))
      import json
      pathlib.Path(d, "study.json").write_text(json.dumps(dict(study=study.describe(grid))))
      proc = run_bin("survey", "--config=configs/survey_default.py", "--preset=tiny",
                     f"--results_dir={d}", timeout=300)
      assert_one_line_error(self, proc, f"{d} holds the results of another study (grid, grid, "
                            "fashion_mnist, preset tiny; differing in")
      self.assertEqual(sorted(os.listdir(d)), ["study.json"])  # nothing trained, nothing written


class FailuresTest(tf.test.TestCase):

  def test_failed_and_diverged_trials_get_rows_and_the_survey_goes_on(self):
    s = tiny_study(num_models=4)
    real_train = train_run.train_model
    calls = []

    def sometimes_failing(cfg, output_dir, **kwargs):
      calls.append(output_dir)
      if len(calls) == 2:
        raise RuntimeError("simulated crash inside training\nsecond line")
      if len(calls) == 3:  # a training set with a NaN pixel: the loss is NaN at once
        import dataclasses
        ds = kwargs["dataset"]
        x = ds.x_train.copy()
        x[:, 0] = np.nan
        kwargs["dataset"] = dataclasses.replace(ds, x_train=x)
      return real_train(cfg, output_dir, **kwargs)

    with tempfile.TemporaryDirectory() as d:
      with mock.patch.object(train_run, "train_model", sometimes_failing):
        summary = driver.run_survey(s, d, progress=False)
      frame = pd.read_parquet(pathlib.Path(d, "table")).sort_values("trial_index")
      self.assertEqual(summary["num_rows"], 4)
      self.assertEqual(frame.status.tolist(), ["ok", "failed", "diverged", "ok"])
      self.assertEqual(frame.message.iloc[1], "RuntimeError: simulated crash inside training")
      self.assertTrue(np.isnan(frame.jacobian_test_mean.iloc[2]))
      self.assertEqual(summary["status_counts"], {"ok": 2, "failed": 1, "diverged": 1})
      self.assertStartsWith(driver.failure_message(summary), "1 of 4 trials failed (first: "
                            "RuntimeError: simulated crash inside training); fix the cause")
      # Once the cause is gone, the same call finishes the survey: the failed trial is run
      # again (the default), the diverged one is a result and is not.
      summary = driver.run_survey(s, d, progress=False)
      frame = pd.read_parquet(pathlib.Path(d, "table")).sort_values("trial_index")
      self.assertEqual(frame.status.tolist(), ["ok", "ok", "diverged", "ok"])
      self.assertIsNone(driver.failure_message(summary))


class BadDataSurveyTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_bad_data_stops_before_training_and_the_fixed_data_finishes(self):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (600, 28, 28)).astype(np.float32)
    xt = rng.integers(0, 256, (100, 28, 28)).astype(np.float32)
    y, yt = np.arange(600) % 10, np.arange(100) % 10
    with tempfile.TemporaryDirectory() as d:
      npz, out = os.path.join(d, "mnist.npz"), os.path.join(d, "results")
      x[5, 5, 5] = np.nan
      np.savez(npz, x_train=x, y_train=y, x_test=xt, y_test=yt)
      args = ["--config=configs/survey_grid.py", "--preset=tiny", "--dataset=mnist",
              f"--data_dir={npz}", f"--results_dir={out}", "--noprogress"]
      proc = run_bin("survey", *args, timeout=300)
      assert_one_line_error(self, proc, f"{npz}: x_train has 1 non-finite pixel value(s)")
      self.assertFalse(pathlib.Path(out, "runs").exists())  # no trial was started
      x[5, 5, 5] = 0
      np.savez(npz, x_train=x, y_train=y, x_test=xt, y_test=yt)
      proc = run_bin("survey", *args, timeout=600)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      self.assertEqual(len(pd.read_parquet(pathlib.Path(out, "table"))), 4)


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def survey_cmd(results_dir, *extra):
  return [sys.executable, str(REPO / "bin" / "survey"), "--config=configs/survey_default.py",
          "--preset=tiny", f"--results_dir={results_dir}", *extra]


class ProcessesTest(tf.test.TestCase):
  """Real processes, each with a hard timeout, killed at the end whatever happens."""

  def setUp(self):
    super().setUp()
    self.procs = []

  def tearDown(self):
    for p in self.procs:
      if p.poll() is None:
        p.kill()
      p.wait()
    super().tearDown()

  def start(self, cmd, env=None):
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    p = subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, PYTHONPATH=path, **(env or {})),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    self.procs.append(p)
    return p

  @pytest.mark.slow
  def test_kill_9_then_rerun_finishes_with_every_row_once(self):
    with tempfile.TemporaryDirectory() as d:
      n = 6
      first = self.start(survey_cmd(d, f"--config.num_models={n}", "--noprogress"))
      table = pathlib.Path(d, "table")
      deadline = time.time() + 300
      while time.time() < deadline and len(list(table.glob("*.parquet"))) < 2:
        time.sleep(0.2)
      os.kill(first.pid, signal.SIGKILL)
      first.wait(timeout=30)
      before = {p.name: p.stat().st_mtime for p in table.glob("*.parquet")}
      self.assertBetween(len(before), 2, n - 1)
      finished_runs = {p.parent.name: p.stat().st_mtime
                       for p in pathlib.Path(d, "runs").glob("*/metrics.json")}
      second = self.start(survey_cmd(d, f"--config.num_models={n}", "--noprogress"))
      out, err = second.communicate(timeout=300)
      self.assertEqual(second.returncode, 0, err)
      self.assertIn(f"{n}/{n} networks in the table ({n} ok)", out)
      frame = pd.read_parquet(table)
      self.assertLen(frame, n)
      self.assertEqual(frame.trial_key.nunique(), n)
      for name, mtime in before.items():  # rows written before the kill are untouched
        self.assertEqual(pathlib.Path(table, name).stat().st_mtime, mtime)
      for run, mtime in finished_runs.items():  # no finished network was retrained
        self.assertEqual(pathlib.Path(d, "runs", run, "metrics.json").stat().st_mtime, mtime)

  @pytest.mark.slow
  def test_chief_and_two_workers_on_loopback(self):
    with tempfile.TemporaryDirectory() as d:
      port = str(free_port())
      base = dict(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=port)
      n = 6
      args = [f"--config.num_models={n}", "--worker_grace_secs=20", "--chief_timeout_secs=120"]
      chief = self.start(survey_cmd(d, *args), dict(base, KERASTUNER_TUNER_ID="chief"))
      workers = [self.start(survey_cmd(d, *args, "--noprogress"),
                            dict(base, KERASTUNER_TUNER_ID=f"worker{i}")) for i in range(2)]
      outs = [w.communicate(timeout=400) for w in workers]
      for w, (out, err) in zip(workers, outs):
        self.assertEqual(w.returncode, 0, err[-3000:])
        self.assertIn("worker:", out)
      out, err = chief.communicate(timeout=120)  # the chief exits once all rows exist
      self.assertEqual(chief.returncode, 0, err[-3000:])
      self.assertIn(f"chief: {n}/{n} networks in the table", out)
      frame = pd.read_parquet(pathlib.Path(d, "table"))
      self.assertLen(frame, n)
      self.assertEqual(frame.trial_key.nunique(), n)
      self.assertEqual(set(frame.worker), {"worker0", "worker1"})
      attempts = [p.read_text().splitlines()
                  for p in pathlib.Path(d, "runs").glob("*/attempts.log")]
      self.assertLen(attempts, n)
      self.assertTrue(all(len(a) == 1 for a in attempts), attempts)  # each ran exactly once

  @pytest.mark.slow
  def test_tiny_cnn_survey_on_real_data(self):
    # Beyond the paper: the small CNN family through the whole pipeline (train, evaluate with
    # the GradientTape route and graph transitions, table), on real Fashion-MNIST.
    with tempfile.TemporaryDirectory() as d:
      proc = self.start(survey_cmd(d, "--config.num_models=2", "--config.fixed.architecture=cnn",
                                   "--noprogress"))
      out, err = proc.communicate(timeout=600)
      self.assertEqual(proc.returncode, 0, err[-3000:])
      self.assertIn("2/2 networks in the table (2 ok)", out)
      frame = pd.read_parquet(pathlib.Path(d, "table"))
      self.assertEqual(sorted(frame.architecture), ["cnn", "cnn"])
      self.assertTrue(np.all(frame.jacobian_test_mean > 0))
      self.assertTrue(np.all(np.isfinite(frame.jacobian_test_mean)))
      self.assertTrue(np.all(frame.transitions_random_mean > 0))
      self.assertEqual(set(frame.jacobian_route), {"gradient_tape"})

  @pytest.mark.slow
  def test_worker_without_chief_gives_up(self):
    with tempfile.TemporaryDirectory() as d:
      env = dict(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(free_port()),
                 KERASTUNER_TUNER_ID="worker0")
      w = self.start(survey_cmd(d, "--chief_timeout_secs=3"), env)
      out, err = w.communicate(timeout=120)
      self.assertEqual(w.returncode, 2, err[-2000:])
      self.assertIn("error: no keras-tuner chief answered at 127.0.0.1", err)


class BinSurveyFlagsTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_bad_flags_fail_with_one_line(self):
    for flags, message in (
        ([], "--config is required"),
        (["--config=configs/nope.py"], "No such file or directory: 'configs/nope.py'"),
        (["--config=configs/survey_default.py", "--preset=huge"], "preset='huge' is invalid"),
        (["--config=configs/survey_default.py", "--config.nosuch=1"],
         "the config has no field 'nosuch'"),
        (["--config=configs/survey_default.py", "--dataset=svhn"], "svhn")):
      assert_one_line_error(self, run_bin("survey", *flags, "--results_dir=/nonexistent/x",
                                          timeout=120), message)


if __name__ == "__main__":
  tf.test.main()
