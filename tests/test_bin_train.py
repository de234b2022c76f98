"""`bin/train` end to end in a subprocess: real data, config precedence, one-line errors."""

import json
import os
import pathlib
import tempfile

import pytest
import tensorflow as tf
from absl.testing import parameterized

from conftest import MNIST_NPZ, assert_one_line_error, run_bin


class BinTrainTest(parameterized.TestCase, tf.test.TestCase):

  @pytest.mark.slow
  def test_real_subset_end_to_end_and_rerun(self):
    with tempfile.TemporaryDirectory() as d:
      out = os.path.join(d, "run")
      proc = run_bin("train", "--dataset=fashion_mnist", "--train_subset=600", "--depth=1",
                     "--width=64", "--max_steps=60", "--eval_every=30", f"--output_dir={out}")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      self.assertRegex(proc.stdout, r"stop: budget after 60 steps .* test acc 0\.[5-9]")
      self.assertIn("step 30/60", proc.stderr)  # the progress display
      metrics = json.loads(pathlib.Path(out, "metrics.json").read_text())
      config = json.loads(pathlib.Path(out, "config.json").read_text())
      self.assertEqual(metrics["num_train"], 600)
      self.assertEqual(metrics["num_test"], 10000)
      self.assertGreater(metrics["test_accuracy"], 0.5)
      self.assertStartsWith(config["data"]["source"], "idx:/usr/share/datasets/fashion-mnist")
      self.assertEqual(config["config"]["train_subset"], 600)
      rerun = run_bin("train", "--dataset=fashion_mnist", "--train_subset=600", "--depth=1",
                      "--width=64", "--max_steps=60", "--eval_every=30", f"--output_dir={out}",
                      "--noprogress")
      self.assertEqual(rerun.returncode, 0, rerun.stderr)
      self.assertIn("already finished", rerun.stdout)

  @pytest.mark.slow
  def test_precedence_defaults_config_file_flags(self):
    with tempfile.TemporaryDirectory() as d:
      config_file = pathlib.Path(d, "cfg.py")
      config_file.write_text(
          "import ml_collections\n"
          "def get_config():\n"
          "  return ml_collections.ConfigDict(dict(dataset='mnist', width=24, depth=3, "
          "max_steps=5, learning_rate=0.01))\n")
      out = os.path.join(d, "run")
      proc = run_bin("train", f"--config={config_file}", "--config.width=20", "--depth=1",
                     f"--data_dir={MNIST_NPZ.parent}", "--train_subset=100", "--noprogress",
                     "--batch_size=full", f"--output_dir={out}")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      cfg = json.loads(pathlib.Path(out, "config.json").read_text())["config"]
      self.assertEqual((cfg["dataset"], cfg["width"], cfg["depth"], cfg["max_steps"]),
                       ("mnist", 20, 1, 5))  # file, file override, flag, file
      self.assertEqual(cfg["optimizer"], "adam")  # default
      self.assertEqual(cfg["batch_size"], 0)

  @pytest.mark.slow
  @parameterized.parameters(
      ("--width=-3", "width=-3 is invalid; allowed: an integer >= 1"),
      ("--dataset=imagenet", "dataset='imagenet' is invalid; allowed: mnist, fashion_mnist"),
      ("--optimizer=lbfgs", "optimizer='lbfgs' is invalid; allowed: sgd, momentum, adam"),
      ("--random_label_fraction=1.5", "random_label_fraction=1.5 is invalid; allowed: a number"),
      ("--nonlinearity=gelu", "nonlinearity='gelu' is invalid; allowed: relu, relu6"),
      ("--batch_size=half", "batch_size='half' is invalid; allowed: 'full'"),
      ("--depth=two", "flag --depth=two:"),
      # Fashion-MNIST has a default source: a mistyped --data_dir must not fall back to it.
      ("--data_dir=/no/such/data_dir", "data_dir /no/such/data_dir does not exist"),
  )
  def test_bad_flags_fail_with_one_line(self, flag, message):
    proc = run_bin("train", flag, "--max_steps=1", "--output_dir=/nonexistent/x", timeout=120)
    assert_one_line_error(self, proc, "error: " + message)


if __name__ == "__main__":
  tf.test.main()
