"""Every mistake a user can make gives one line and exit status 2, through the real commands
(config typos, broken config files, data that does not fit, runs that cannot be evaluated,
damaged files, a taken port), found before any training; Ctrl-C gives one line too."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from conftest import MNIST_NPZ, REPO, assert_one_line_error, run_bin
from sensitivity_tf.store import run_claim
from sensitivity_tf.store import run_dir
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run

EVAL = ["--test_points=30", "--num_samples=96", "--bins=16", "--ellipses_per_kind=1",
        "--ellipse_jacobian_samples=12", "--test_point_ellipses=2"]


def train_tiny(directory, **overrides):
  cfg = train_config.default_config()
  cfg.update(dict(dataset="mnist", data_dir=str(MNIST_NPZ), train_subset=100, depth=1, width=8,
                  max_steps=4, eval_every=2, progress=False), **overrides)
  train_run.train(cfg, directory, log=lambda *_: None)
  return run_dir.RunDirectory(directory)


class ConfigErrorsTest(parameterized.TestCase, tf.test.TestCase):

  @pytest.mark.slow
  @parameterized.named_parameters(
      ("train", "train", ["--config=configs/train.py", "--config.max_step=5"],
       "--config.max_step: the config has no field 'max_step'; did you mean 'max_steps'?"),
      ("survey", "survey", ["--config=configs/survey_default.py", "--config.fixed.max_step=5"],
       "--config.fixed.max_step: the config has no field 'max_step'; did you mean 'max_steps'?"),
      ("reproduce", "reproduce", ["--config=configs/reproduce_regions.py", "--preset=tiny",
                                  "--config.num_slice=3"],
       "--config.num_slice: the config has no field 'num_slice'; did you mean 'num_slices'?"),
      ("bootstrap", "reproduce", ["--config=configs/reproduce_regions.py", "--preset=tiny",
                                  "--config.num_bootstrap=-5"],
       "num_bootstrap=-5 is invalid; allowed: an integer >= 1"),
  )
  def test_near_miss_overrides_and_bad_values(self, tool, args, message):
    with tempfile.TemporaryDirectory() as d:
      out = "--output_dir" if tool == "train" else "--results_dir"
      proc = run_bin(tool, *args, f"{out}={d}/out", timeout=300)
      assert_one_line_error(self, proc, "error: " + message)
      self.assertFalse(pathlib.Path(d, "out").exists())  # found before any training

  @pytest.mark.slow
  @parameterized.named_parameters(
      ("syntax", "def get_config(:\n", "syntax error in"),
      ("no_get_config", "x = 1\n", "the file has no get_config() function"),
      ("raises", "def get_config():\n  raise ValueError('boom')\n", "ValueError: boom"),
  )
  def test_broken_config_files(self, text, message):
    with tempfile.TemporaryDirectory() as d:
      path = pathlib.Path(d, "cfg.py")
      path.write_text(text)
      proc = run_bin("train", f"--config={path}", f"--output_dir={d}/out", timeout=300)
      assert_one_line_error(self, proc, f"error: flag --config={path}: ")
      self.assertIn(message, proc.stderr)


class DataAndRunErrorsTest(tf.test.TestCase):

  def _npz(self, d, n_train, n_test):
    (x, y), (xt, yt), _ = train_run.data.load_raw("mnist", data_dir=str(MNIST_NPZ))
    path = os.path.join(d, "small.npz")
    np.savez(path, x_train=x[:n_train], y_train=y[:n_train], x_test=xt[:n_test],
             y_test=yt[:n_test])
    return path

  @pytest.mark.slow
  def test_train_subset_larger_than_the_data_and_an_empty_test_split(self):
    with tempfile.TemporaryDirectory() as d:
      path = self._npz(d, 100, 10)
      proc = run_bin("train", "--dataset=mnist", f"--data_dir={path}", "--train_subset=500",
                     f"--output_dir={d}/out", timeout=300)
      assert_one_line_error(self, proc, f"error: npz:{path}: train_subset=500 but it holds "
                            "only 100 training examples")
      path = self._npz(d, 100, 0)
      proc = run_bin("train", "--dataset=mnist", f"--data_dir={path}",
                     f"--output_dir={d}/out", timeout=300)
      assert_one_line_error(self, proc, f"error: npz:{path}: the test split is empty")
      self.assertEqual(sorted(os.listdir(d)), ["small.npz"])

  @pytest.mark.slow
  def test_runs_that_cannot_be_evaluated_and_damaged_files(self):
    with tempfile.TemporaryDirectory() as d:
      # 20 examples of 10 classes: no class has three points for a same-class ellipse.
      train_tiny(os.path.join(d, "few"), train_subset=20)
      train_tiny(os.path.join(d, "depth0"), depth=0)
      train_tiny(os.path.join(d, "damaged"))
      model = pathlib.Path(d, "damaged", "model.keras")
      model.write_bytes(model.read_bytes()[:1000])
      for run, message in (("few", "trained on 20 examples with at most 2 of a class"),
                           ("depth0", "a network of depth 0 has no hidden neurons"),
                           ("damaged", "model.keras: damaged or not a Keras model")):
        proc = run_bin("evaluate_sensitivity", os.path.join(d, run), *EVAL, timeout=300)
        assert_one_line_error(self, proc, message)

  @pytest.mark.slow
  def test_truncated_checkpoint(self):
    with tempfile.TemporaryDirectory() as d:
      out = os.path.join(d, "run")
      args = dict(dataset="mnist", data_dir=str(MNIST_NPZ), train_subset=100, depth=1, width=8,
                  max_steps=20, eval_every=5, checkpoint_every_secs=1e-6, progress=False)
      cfg = train_config.default_config()
      cfg.update(args)
      with mock.patch.object(run_dir.RunDirectory, "save_model",
                             side_effect=RuntimeError("killed before the end")):
        with self.assertRaises(RuntimeError):
          train_run.train(cfg, out, log=lambda *_: None)
      data_files = list(pathlib.Path(out, "checkpoint").glob("*.data-*"))
      self.assertNotEmpty(data_files)
      for f in data_files:
        f.write_bytes(f.read_bytes()[:10])
      flags = [f"--{k}={v}" for k, v in args.items() if k != "progress"] + ["--noprogress"]
      proc = run_bin("train", *flags, f"--output_dir={out}", timeout=300)
      assert_one_line_error(self, proc, "damaged checkpoint")
      self.assertIn("--overwrite", proc.stderr)


DEFAULT_SIGINT_EXEC = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


class ProcessErrorsTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_ctrl_c_says_the_run_can_be_resumed(self):
    with tempfile.TemporaryDirectory() as d:
      out = os.path.join(d, "run")
      env = dict(os.environ, **{run_claim.HOLD_ENV: os.path.join(d, "never")})
      # A shell's background job (`cmd &`, as CI may be started) inherits SIGINT ignored, and
      # Python then never turns Ctrl-C into KeyboardInterrupt: restore the default first,
      # as a terminal's foreground job has it, and exec the command.
      proc = subprocess.Popen(
          [sys.executable, "-c", DEFAULT_SIGINT_EXEC, str(REPO / "bin" / "train"),
           "--dataset=mnist", f"--data_dir={MNIST_NPZ}", "--train_subset=100", "--depth=1",
           "--width=8", f"--output_dir={out}"], cwd=REPO, env=env, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, text=True)
      deadline = time.time() + 180
      while not pathlib.Path(out, run_claim.CLAIM).exists() and time.time() < deadline:
        time.sleep(0.05)
      proc.send_signal(signal.SIGINT)
      _, err = proc.communicate(timeout=120)
      self.assertEqual(proc.returncode, 130, err)
      self.assertEqual(err.strip().splitlines(),
                       ["interrupted: finished work is kept; run the same command again to "
                        "resume"])
      self.assertFalse(pathlib.Path(out, run_claim.CLAIM).exists())  # released

  @pytest.mark.slow
  def test_chief_port_in_use(self):
    with socket.socket() as s, tempfile.TemporaryDirectory() as d:
      s.bind(("", 0))
      s.listen()
      port = s.getsockname()[1]
      env = dict(os.environ, KERASTUNER_TUNER_ID="chief", KERASTUNER_ORACLE_IP="127.0.0.1",
                 KERASTUNER_ORACLE_PORT=str(port), PYTHONUNBUFFERED="1",
                 PYTHONPATH=str(REPO))  # this checkout's package, as run_bin does
      proc = subprocess.run(
          [sys.executable, str(REPO / "bin" / "survey"), "--config=configs/survey_grid.py",
           "--preset=tiny", f"--results_dir={d}/results"], cwd=REPO, env=env,
          capture_output=True, text=True, timeout=300)
      assert_one_line_error(self, proc, f"KERASTUNER_ORACLE_PORT={port} is already in use")
      self.assertFalse(pathlib.Path(d, "results").exists())  # no study.json, no table/


if __name__ == "__main__":
  tf.test.main()
