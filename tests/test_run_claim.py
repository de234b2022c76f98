"""One process per run directory: the claim, stale claims, and bin/train started twice."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow as tf

from conftest import MNIST_NPZ, REPO, assert_one_line_error
from sensitivity_tf.store import run_claim
from sensitivity_tf.train import train_config

TINY = ["--dataset=mnist", f"--data_dir={MNIST_NPZ}", "--train_subset=100", "--depth=1",
        "--width=8", "--max_steps=5", "--noprogress"]


def start_train(*args, hold=None, home=None):
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  if hold:
    env[run_claim.HOLD_ENV] = str(hold)
  if home:
    env["HOME"] = str(home)
  return subprocess.Popen([sys.executable, str(REPO / "bin" / "train"), *args], cwd=REPO,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, proc, timeout=180):
  deadline = time.time() + timeout
  while not pathlib.Path(path).exists():
    if proc.poll() is not None:
      raise AssertionError(f"owner exited early: {proc.communicate()}")
    if time.time() > deadline:
      proc.kill()
      raise AssertionError(f"{path} never appeared")
    time.sleep(0.05)


def finish(proc, timeout=180):
  out, err = proc.communicate(timeout=timeout)
  return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class ClaimTest(tf.test.TestCase):

  def _write_claim(self, d, host, pid, age=0.0):
    path = pathlib.Path(d, run_claim.CLAIM)
    path.write_text(json.dumps(dict(host=host, pid=pid, pid_start=None, token="old",
                                    claimed_at="then")))
    os.utime(path, (time.time() - age, time.time() - age))
    return path

  def test_claim_refuses_a_live_owner_and_is_released(self):
    with tempfile.TemporaryDirectory() as d:
      with run_claim.claimed(d):
        self.assertTrue(pathlib.Path(d, run_claim.CLAIM).is_file())
        with self.assertRaisesRegex(run_claim.ClaimError,
                                    f"{d} is in use by pid {os.getpid()} on "):
          run_claim.acquire(d)
      self.assertFalse(pathlib.Path(d, run_claim.CLAIM).exists())
      self.assertEqual(os.listdir(d), [])  # no temporary files left either

  @pytest.mark.slow
  def test_stale_claims_are_taken_over(self):
    dead = subprocess.Popen(["true"])
    dead.wait()
    with tempfile.TemporaryDirectory() as d:
      messages = []
      self._write_claim(d, socket.gethostname(), dead.pid)  # killed: its pid is gone
      claim = run_claim.acquire(d, log=messages.append)
      self.assertEqual(json.loads(pathlib.Path(d, run_claim.CLAIM).read_text())["pid"],
                       os.getpid())
      self.assertIn(f"its process {dead.pid} is gone", messages[0])
      claim.release()
      # Another host: judged by the heartbeat alone.
      self._write_claim(d, "elsewhere", 1, age=run_claim.STALE_AFTER_SECS + 10)
      run_claim.acquire(d, log=messages.append).release()
      self.assertIn("no heartbeat for", messages[1])
      self._write_claim(d, "elsewhere", 1, age=5)
      with self.assertRaisesRegex(run_claim.ClaimError, "in use by pid 1 on elsewhere"):
        run_claim.acquire(d)

  @pytest.mark.slow
  def test_live_process_on_this_host_is_not_stale(self):
    with tempfile.TemporaryDirectory() as d:
      sleeper = subprocess.Popen(["sleep", "30"])
      try:
        self._write_claim(d, socket.gethostname(), sleeper.pid, age=3600)
        with self.assertRaisesRegex(run_claim.ClaimError, f"pid {sleeper.pid}"):
          run_claim.acquire(d)
      finally:
        sleeper.kill()
        sleeper.wait()

  def test_default_run_names_identify_every_hyperparameter(self):
    base = train_config.default_config()
    self.assertEqual(train_config.default_run_name(base), "2x512_relu_s0")
    names = set()
    for field, value in (("learning_rate", 0.01), ("optimizer", "momentum"),
                         ("batch_size", 0), ("weight_scale", 1.0), ("augment", True),
                         ("random_label_fraction", 1.0), ("train_subset", 5000)):
      cfg = train_config.default_config()
      cfg[field] = value
      names.add(train_config.default_run_name(cfg))
      self.assertIn(f"_{field}={value}", train_config.default_run_name(cfg))
    self.assertLen(names, 7)
    cfg = train_config.default_config()
    cfg.update(learning_rate=0.01, optimizer="momentum", batch_size=0, weight_scale=1.0,
               bias_scale=0.5, augment=True, random_label_fraction=1.0, label_seed=3,
               train_subset=5000, subset_seed=2)
    long_name = train_config.default_run_name(cfg)
    self.assertLessEqual(len(long_name), train_config.MAX_RUN_NAME)
    self.assertRegex(long_name, r"^2x512_relu_s0_h[0-9a-f]{12}$")
    cfg.subset_seed = 3
    self.assertNotEqual(train_config.default_run_name(cfg), long_name)


class TwoProcessesTest(tf.test.TestCase):
  """bin/train twice on one directory, the first held inside the window right after its
  claim (where the issue's 0.3 s race lived: before config.json is written)."""

  @pytest.mark.slow
  def test_second_process_is_refused_whatever_the_timing(self):
    with tempfile.TemporaryDirectory() as d:
      out, hold = os.path.join(d, "run"), os.path.join(d, "go")
      first = start_train(*TINY, "--seed=0", f"--output_dir={out}", hold=hold)
      wait_for(os.path.join(out, run_claim.CLAIM), first)
      second = finish(start_train(*TINY, "--seed=1", f"--output_dir={out}"))
      assert_one_line_error(self, second, f"error: {out} is in use by pid {first.pid} on")
      pathlib.Path(hold).touch()
      done = finish(first)
      self.assertEqual(done.returncode, 0, done.stderr)
      self.assertEqual(json.loads(pathlib.Path(out, "config.json").read_text())["config"]["seed"],
                       0)
      self.assertFalse(pathlib.Path(out, run_claim.CLAIM).exists())  # released at the end
      again = finish(start_train(*TINY, "--seed=1", f"--output_dir={out}"))
      assert_one_line_error(self, again, "holds a run with another configuration (seed: 0 != 1")

  @pytest.mark.slow
  def test_killed_owner_is_taken_over_and_the_run_finishes(self):
    with tempfile.TemporaryDirectory() as d:
      out, hold = os.path.join(d, "run"), os.path.join(d, "never")
      first = start_train(*TINY, f"--output_dir={out}", hold=hold)
      wait_for(os.path.join(out, run_claim.CLAIM), first)
      first.send_signal(signal.SIGKILL)
      first.wait()
      rerun = finish(start_train(*TINY, f"--output_dir={out}"))
      self.assertEqual(rerun.returncode, 0, rerun.stderr)
      self.assertIn(f"took over the stale claim of pid {first.pid}", rerun.stdout)
      self.assertTrue(pathlib.Path(out, "metrics.json").is_file())

  @pytest.mark.slow
  def test_failed_start_leaves_no_folder_and_tilde_is_expanded(self):
    with tempfile.TemporaryDirectory() as d:
      out = os.path.join(d, "a", "b", "run")
      proc = finish(start_train("--dataset=mnist", f"--data_dir={d}/missing", "--max_steps=1",
                                f"--output_dir={out}"))
      assert_one_line_error(self, proc, "does not exist")
      self.assertEqual(os.listdir(d), [])  # not even a/ (the issue: empty run folders)
      proc = finish(start_train(*TINY, "--output_dir=~/x", home=d))
      self.assertEqual(proc.returncode, 0, proc.stderr)
      self.assertTrue(pathlib.Path(d, "x", "metrics.json").is_file())
      self.assertFalse(pathlib.Path(REPO, "~").exists())


if __name__ == "__main__":
  tf.test.main()
