"""The commands' own small silences (issue 22, item 10): the augmentation policy said and
recorded, a damaged claim file described as what it is, --dry_run as strict about its paths
as the run itself (a chief refused for its port leaving nothing behind: test_one_line_errors)."""

import json
import os
import pathlib
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from conftest import MNIST_NPZ, assert_one_line_error, run_bin, synthetic_images
from sensitivity_tf.store import run_claim

TRAIN = ["--depth=1", "--width=8", "--max_steps=2", "--eval_every=2", "--noprogress"]


def write_npz(directory, shape):
  path = os.path.join(directory, "own.npz")
  x, y = synthetic_images(24, shape, 3)
  np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
  return path


class CommandRulesTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_the_augmentation_policy_is_said_and_recorded_with_its_rule(self):
    with tempfile.TemporaryDirectory() as d:
      path = write_npz(d, (8, 8))
      proc = run_bin("train", f"--dataset={path}", "--augment", f"--output_dir={d}/run", *TRAIN)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      derived = json.loads(pathlib.Path(d, "run", "config.json").read_text())["derived"]
    said = ("augmentation for images 8 px high: random translation of +-2 px (the policy for "
            "images under 32 px high; 32 px or more: +-4 px and horizontal flips)")
    self.assertIn(said, proc.stdout)
    self.assertEqual(derived["augmentation"], said.split(": ", 1)[1])

  @pytest.mark.slow
  def test_an_empty_claim_file_is_described_as_damaged(self):
    with tempfile.TemporaryDirectory() as d:
      run = pathlib.Path(d, "run")
      run.mkdir()
      (run / run_claim.CLAIM).write_bytes(b"")
      proc = run_bin("train", "--dataset=mnist", f"--data_dir={MNIST_NPZ}",
                     "--train_subset=100", f"--output_dir={run}", *TRAIN)
    assert_one_line_error(self, proc, f"{run} is claimed by a damaged claim file")
    self.assertIn("empty", proc.stderr)
    self.assertNotIn("pid ?", proc.stderr)

  @pytest.mark.slow
  def test_dry_run_checks_data_dir_and_results_dir(self):
    with tempfile.TemporaryDirectory() as d:
      missing = os.path.join(d, "no_such_data")
      pathlib.Path(d, "afile").write_text("x")
      for tool, config in (("survey", "--config=configs/survey_grid.py"),
                           ("reproduce", "--config=configs/reproduce_regions.py")):
        proc = run_bin(tool, config, "--preset=tiny", f"--data_dir={missing}",
                       f"--results_dir={d}/results", "--dry_run")
        assert_one_line_error(self, proc, f"data_dir {missing} does not exist")
        proc = run_bin(tool, config, "--preset=tiny", f"--results_dir={d}/afile", "--dry_run")
        assert_one_line_error(self, proc, f"--results_dir={d}/afile is a file; allowed: a "
                              "directory")
      self.assertFalse(pathlib.Path(d, "results").exists())


if __name__ == "__main__":
  tf.test.main()
