"""bin/reproduce and bin/survey across keras-tuner processes on loopback: a chief and two
workers with a worker killed by SIGKILL and restarted, a restarted chief, a foreign worker.
Every process has a hard timeout and is killed at the end whatever happens."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import tensorflow as tf

from conftest import REPO, run_bin

TIMING = {"train_wall_secs", "eval_wall_secs", "total_wall_secs", "worker", "finished_at"}
# Two of the smallest experiments: a growing survey (capacity) and a single network (regions).
REPRODUCE = ["--experiment=capacity,regions", "--preset=tiny"]


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return str(s.getsockname()[1])


def wait_for(condition, timeout, what):
  deadline = time.time() + timeout
  while time.time() < deadline:
    if condition():
      return
    time.sleep(0.2)
  raise AssertionError(f"timed out waiting for {what}")


class Processes(tf.test.TestCase):
  """Starts real processes (output to files, so no pipe fills up); kills them at the end."""

  def setUp(self):
    super().setUp()
    self.procs = []
    self.tmp = tempfile.TemporaryDirectory()
    self.dir = pathlib.Path(self.tmp.name)
    self.port = free_port()

  def tearDown(self):
    for p, _ in self.procs:
      if p.poll() is None:
        p.kill()
      p.wait()
    self.tmp.cleanup()
    super().tearDown()

  def start(self, tool, role, *args):
    log = self.dir / f"{role}-{len(self.procs)}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", KERASTUNER_TUNER_ID=role,
               KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=self.port)
    with open(log, "w") as out:
      p = subprocess.Popen([sys.executable, str(REPO / "bin" / tool), *args], cwd=REPO, env=env,
                           stdout=out, stderr=subprocess.STDOUT, text=True)
    self.procs.append((p, log))
    return p

  def finish(self, p, timeout):
    """Waits for ``p`` (hard timeout), returns (exit status, its output)."""
    log = dict(self.procs)[p]
    try:
      p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      p.kill()
      raise AssertionError(f"{log.name} did not finish in {timeout} s:\n"
                           f"{log.read_text()[-3000:]}") from None
    return p.returncode, log.read_text()


def comparable(frame):
  return (frame.drop(columns=[c for c in frame.columns if c in TIMING])
          .sort_values("trial_key").reset_index(drop=True))


class DistributedReproduceTest(Processes):

  def test_chief_two_workers_one_killed_and_restarted_equals_one_process(self):
    root = self.dir / "distributed"
    args = [*REPRODUCE, f"--results_dir={root}", "--worker_grace_secs=20",
            "--chief_timeout_secs=300"]
    chief = self.start("reproduce", "chief", *args)
    workers = [self.start("reproduce", f"worker{i}", *args, "--noprogress") for i in range(2)]
    runs = root / "fashion_mnist" / "studies" / "survey" / "runs"
    table = runs.parent / "table"

    def worker0_mid_network():  # a network worker0 started that has no row yet
      rows = {p.stem for p in table.glob("*.parquet")} if table.is_dir() else set()
      for log in runs.glob("*/attempts.log"):
        if "worker0" in log.read_text() and not (log.parent / "metrics.json").exists():
          return len(rows) >= 1
      return False

    wait_for(worker0_mid_network, 600, "worker0 inside a network")
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=30)
    restarted = self.start("reproduce", "worker0", *args, "--noprogress")
    for w in (workers[1], restarted):
      code, out = self.finish(w, 900)
      self.assertEqual(code, 0, out[-3000:])
      self.assertIn("the chief analyses and draws", out)
    code, out = self.finish(chief, 120)  # the chief exits once all is done
    self.assertEqual(code, 0, out[-3000:])
    self.assertRegex(out, r"capacity: C1 fashion_mnist: (holds|does not hold|not enough)")
    self.assertRegex(out, r"regions: C5 fashion_mnist: (holds|does not hold|not enough)")

    frame = pd.read_parquet(table)
    self.assertEqual(frame.trial_key.nunique(), len(frame))  # every row once
    self.assertEqual(set(frame.worker), {"worker0", "worker1"})  # the chief trains nothing
    attempts = sorted(len(p.read_text().splitlines()) for p in runs.glob("*/attempts.log"))
    self.assertLen(attempts, len(frame))
    self.assertLessEqual(attempts[-1], 2)   # only the killed network ran twice (resumed)
    self.assertEqual(attempts[:-1], [1] * (len(attempts) - 1))
    self.assertTrue((root / "fashion_mnist" / "networks" / "regions" / "metrics.json").is_file())

    # One process, same configuration, elsewhere: the same rows and numbers.
    single = self.dir / "single"
    proc = run_bin("reproduce", *REPRODUCE, f"--results_dir={single}", "--noprogress",
                   timeout=900)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    other = pd.read_parquet(single / "fashion_mnist" / "studies" / "survey" / "table")
    pd.testing.assert_frame_equal(comparable(frame), comparable(other))
    metrics = [json.loads((r / "fashion_mnist" / "networks" / "regions" / "metrics.json")
                          .read_text()) for r in (root, single)]
    for m in metrics:
      m.pop("wall_time_secs")
    self.assertEqual(metrics[0], metrics[1])
    self.assertEqual(json.loads((root / "claims" / "capacity.json").read_text()),
                     json.loads((single / "claims" / "capacity.json").read_text()))

    # A later one-process run of the distributed workspace only redraws.
    rows = {p.name: p.stat().st_mtime_ns for p in table.glob("*.parquet")}
    proc = run_bin("reproduce", *REPRODUCE, f"--results_dir={root}", "--noprogress",
                   timeout=300)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertEqual({p.name: p.stat().st_mtime_ns for p in table.glob("*.parquet")}, rows)
    self.assertEqual(sorted(len(p.read_text().splitlines()) for p in runs.glob("*/attempts.log")),
                     attempts)


if __name__ == "__main__":
  tf.test.main()
