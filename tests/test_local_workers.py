"""--local_workers: a chief and N keras-tuner workers on loopback, started by the command
itself. Real processes on the tiny preset, each under a hard timeout and killed at the end
whatever happens: the tables equal a one-process run's, a SIGKILLed worker is started again and
resumes, a SIGKILLed command takes its workers with it and the same command finishes the work,
every row once."""

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from unittest import mock

import pandas as pd
import pytest
import tensorflow as tf

from conftest import REPO, assert_one_line_error, run_bin
from sensitivity_tf.survey import execution
from sensitivity_tf.survey import local_workers
from sensitivity_tf.train import train_config

WHERE_AND_WHEN = {"worker", "finished_at"}  # besides every "*wall*" time


def comparable(frame):
  return (frame.drop(columns=[c for c in frame.columns if c in WHERE_AND_WHEN or "wall" in c])
          .sort_values("trial_key").reset_index(drop=True))


def survey_args(results_dir, num_models, *extra):
  return ["--config=configs/survey_default.py", "--preset=tiny", f"--results_dir={results_dir}",
          f"--config.num_models={num_models}", "--noprogress", *extra]


def children(pid):
  """The pids of ``pid``'s child processes (Linux)."""
  try:
    text = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text()
  except FileNotFoundError:
    return []
  return [int(p) for p in text.split()]


def alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  try:  # a zombie (killed, not yet reaped by its parent) is not alive
    return pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
  except FileNotFoundError:
    return False


def wait_for(condition, timeout, what):
  deadline = time.time() + timeout
  while time.time() < deadline:
    found = condition()
    if found:
      return found
    time.sleep(0.2)
  raise AssertionError(f"timed out waiting for {what}")


def mid_network_pid(results_dir):
  """The pid of a worker inside a network: the owner in a claim.json of a run without
  metrics.json (None if there is none right now)."""
  import json
  for claim in pathlib.Path(results_dir, "runs").glob("*/claim.json"):
    if (claim.parent / "metrics.json").exists():
      continue
    try:
      return json.loads(claim.read_text())["pid"]
    except (ValueError, KeyError, FileNotFoundError):
      continue
  return None


class ExecutorChoiceTest(tf.test.TestCase):

  def test_threads_are_divided_between_workers(self):
    self.assertEqual(local_workers.threads_per_worker(2, cores=2), 1)
    self.assertEqual(local_workers.threads_per_worker(3, cores=8), 2)
    self.assertEqual(local_workers.threads_per_worker(4, cores=2), 1)  # at least one
    lw = local_workers.LocalWorkers("/tmp/unused", "identity", 3, cores=8)
    env = lw._environment(1)
    self.assertEqual((env["TF_NUM_INTRAOP_THREADS"], env["TF_NUM_INTEROP_THREADS"],
                      env["OMP_NUM_THREADS"], env["KERASTUNER_TUNER_ID"]),
                     ("2", "2", "2", "worker1"))

  def test_bad_counts_and_keras_tuner_roles_are_refused_in_one_line(self):
    for bad in (-1, 1.5, True):
      with self.assertRaisesRegex(train_config.ConfigError,
                                  rf"^local_workers={bad!r} is invalid; allowed: an integer"):
        with execution.open_executor("/tmp/unused", "identity", bad):
          pass
    with mock.patch.dict(os.environ, KERASTUNER_TUNER_ID="chief",
                         KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT="1"):
      with self.assertRaisesRegex(train_config.ConfigError,
                                  "local_workers=2 cannot be combined with "
                                  "KERASTUNER_TUNER_ID=chief"):
        with execution.open_executor("/tmp/unused", "identity", 2):
          pass

  def test_the_default_count_follows_the_preset_the_cores_and_the_role(self):
    default = execution.default_local_workers
    self.assertEqual([default("small", cores=c) for c in (1, 2, 4, 64)],
                     [0, 2, 4, execution.MAX_DEFAULT_LOCAL_WORKERS])
    self.assertEqual(default("paper", cores=2), 2)
    self.assertEqual(default("tiny", cores=8), 0)  # start-up dominates tiny networks
    for role in ("chief", "worker0"):  # a distributed run's workers are started by hand
      with mock.patch.dict(os.environ, KERASTUNER_TUNER_ID=role,
                           KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT="1"):
        self.assertEqual(default("small", cores=8), 0)

  def test_dead_workers_are_restarted_a_failing_one_stops_the_command(self):
    class Ended:
      def __init__(self, code):
        self.code = code

      def poll(self):
        return self.code

    with tempfile.TemporaryDirectory() as d:
      lw = local_workers.LocalWorkers(d, "identity", 2, log=lambda m: None)
      started = []
      lw._start = started.append
      lw.log_path(0).parent.mkdir(parents=True)
      lw.procs = [Ended(None), Ended(-9)]  # worker0 alive, worker1 SIGKILLed
      lw.supervise()
      self.assertEqual(started, [1])
      for _ in range(local_workers.MAX_RESTARTS - 1):
        lw.supervise()
      self.assertLen(started, local_workers.MAX_RESTARTS)
      lw.log_path(1).write_text("Traceback ...\nMemoryError: out of memory\n")
      with self.assertRaisesRegex(local_workers.LocalWorkerError,
                                  r"^worker1 died 4 times, last with exit status -9 "
                                  r"\(MemoryError: out of memory\); see "):
        lw.supervise()
      lw.procs = [Ended(local_workers.EXIT_ERROR), Ended(None)]
      lw.log_path(0).write_text("error: the data cannot be read\n")
      with self.assertRaisesRegex(local_workers.LocalWorkerError,
                                  "^worker0 stopped: error: the data cannot be read"):
        lw.supervise()

  def test_in_process_without_local_workers(self):
    with execution.open_executor("/tmp/unused", "identity") as executor:
      self.assertIsInstance(executor, execution.InProcess)


@pytest.mark.slow
class LocalWorkersTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.procs = []
    self.tmp = tempfile.TemporaryDirectory()
    self.dir = pathlib.Path(self.tmp.name)

  def tearDown(self):
    for p in self.procs:
      for child in children(p.pid):
        try:
          os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
          pass
      if p.poll() is None:
        p.kill()
      p.wait()
    self.tmp.cleanup()
    super().tearDown()

  def start(self, *args):
    log = open(self.dir / f"command-{len(self.procs)}.log", "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO),
                                                        os.environ.get("PYTHONPATH")])))
    p = subprocess.Popen([sys.executable, str(REPO / "bin" / "survey"), *args], cwd=REPO,
                         env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    p.log = pathlib.Path(log.name)
    self.procs.append(p)
    return p

  def finish(self, p, timeout):
    try:
      p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      p.kill()
      raise AssertionError(f"did not finish in {timeout} s:\n{p.log.read_text()[-3000:]}")
    return p.returncode, p.log.read_text()

  def test_killed_worker_and_killed_command_lose_and_duplicate_nothing(self):
    local = self.dir / "local"
    # 1. Two workers; one is SIGKILLed inside a network: the chief starts it again, it
    # gets its network back and resumes it; the command finishes by itself.
    command = self.start(*survey_args(local, 4, "--local_workers=2"))
    pid = wait_for(lambda: mid_network_pid(local), 300, "a worker inside a network")
    self.assertIn(pid, children(command.pid))  # a worker, not the chief
    os.kill(pid, signal.SIGKILL)
    code, out = self.finish(command, 600)
    self.assertEqual(code, 0, out[-3000:])
    self.assertRegex(out, r"worker\d died \(exit status -9\); starting it again")
    self.assertIn("chief of 2 local workers: 4/4 networks in the table (4 ok)", out)

    # 2. The same study grown to 6; the whole command is SIGKILLed while its workers are
    # inside the new networks: the workers stop with it (none is left training), and the
    # same command finishes the study.
    table = local / "table"
    command = self.start(*survey_args(local, 6, "--local_workers=2"))
    workers = wait_for(lambda: len(children(command.pid)) == 2 and children(command.pid),
                       120, "two workers")
    wait_for(lambda: mid_network_pid(local), 300, "a worker inside a new network")
    os.kill(command.pid, signal.SIGKILL)
    command.wait(timeout=30)
    wait_for(lambda: not any(alive(w) for w in workers), 30, "the workers to stop")
    code, out = self.finish(self.start(*survey_args(local, 6, "--local_workers=2")), 600)
    self.assertEqual(code, 0, out[-3000:])
    self.assertIn("6/6 networks in the table (6 ok)", out)

    frame = pd.read_parquet(table)
    self.assertLen(frame, 6)
    self.assertEqual(frame.trial_key.nunique(), 6)  # every row once
    self.assertTrue(set(frame.worker) <= {"worker0", "worker1"})  # the chief trains nothing
    attempts = sorted(len(p.read_text().splitlines())
                      for p in (local / "runs").glob("*/attempts.log"))
    self.assertLen(attempts, 6)
    self.assertLessEqual(attempts[-1], 2)  # only killed networks ran twice (resumed)
    self.assertGreaterEqual(attempts.count(1), 3)
    self.assertGreaterEqual(attempts.count(2), 2)  # one per kill at least

    # 3. One process, same study, elsewhere: the same rows and numbers.
    single = self.dir / "single"
    proc = run_bin("survey", *survey_args(single, 6), timeout=900)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("single: 6/6 networks in the table", proc.stdout)
    pd.testing.assert_frame_equal(comparable(frame),
                                  comparable(pd.read_parquet(single / "table")),
                                  check_exact=True)

  def test_reproduce_hands_its_single_network_to_a_local_worker(self):
    import json
    args = ["--experiment=regions", "--preset=tiny", "--noprogress"]
    roots = {"local": self.dir / "local", "single": self.dir / "single"}
    proc = run_bin("reproduce", *args, f"--results_dir={roots['local']}", "--local_workers=1",
                   timeout=900)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertIn("local workers: 1 processes on 127.0.0.1:", proc.stderr)
    self.assertRegex(proc.stdout, r"regions: C5 fashion_mnist: (holds|does not hold|not enough)")
    log = (roots["local"] / "local_workers" / "worker0.log").read_text()
    self.assertIn("worker0: ran 1 jobs", log)  # the network was trained by the worker
    proc = run_bin("reproduce", *args, f"--results_dir={roots['single']}", timeout=900)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    metrics = []
    for root in roots.values():
      (network,) = (root / "fashion_mnist" / "networks").glob("regions-*")
      metrics.append({k: v for k, v in json.loads((network / "metrics.json").read_text()).items()
                      if "wall" not in k})
    self.assertEqual(*metrics)
    self.assertEqual(*[[(c["claim"], c["verdict"], c["statistic"]) for c in json.loads(
        (root / "claims" / "regions.json").read_text())] for root in roots.values()])

  def test_bad_count_fails_in_one_line_before_anything_runs(self):
    proc = run_bin("survey", *survey_args(self.dir / "bad", 2, "--local_workers=-2"),
                   timeout=120)
    assert_one_line_error(self, proc, "local_workers=-2 is invalid; allowed: an integer >= 0")
    self.assertFalse((self.dir / "bad").exists())


if __name__ == "__main__":
  tf.test.main()
