"""Model files of any origin through bin/evaluate_sensitivity --model, and the API's input
checks (issue 22, items 3, 4, 5, 9 and the model parts of 8 and 10; docs/data.md "What is
refused and why"): the cache key covers everything that changes a number; saved Sequential
models that are not Dense stacks are evaluated (and equal the same model built in the
process); layouts must match; unknown input sizes, float16, NaN weights, damaged files,
directories and paths get a result or one true line."""

import json
import os
import pathlib
import shutil
import tempfile
from unittest import mock

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from absl.testing import parameterized

from conftest import REPO, assert_one_line_error, run_bin, synthetic_images
from sensitivity_tf import api
from sensitivity_tf import data
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations

EVAL = ["--num_samples=96", "--bins=16", "--ellipses_per_kind=1",
        "--ellipse_jacobian_samples=12", "--test_point_ellipses=3"]
SMALL = evaluation.EvaluationSettings(num_samples=96, bins=16, ellipses_per_kind=1,
                                      ellipse_jacobian_samples=12, test_point_ellipses=3)


def write_data(directory, shape=(8, 8, 1), classes=3, n_train=30, n_test=12):
  path = os.path.join(directory, "data.npz")
  (x, y), (xt, yt) = (synthetic_images(n_train, shape, classes, 0),
                      synthetic_images(n_test, shape, classes, 1))
  np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
  return path, xt.astype(np.float32) / 255


def evaluate_saved(d, model, name, *flags, shape=(8, 8, 1)):
  """Saves ``model`` as ``d/name`` beside data of ``shape`` and runs bin/evaluate_sensitivity
  --model on them into ``d/out``: (the process, the test images as the model sees them)."""
  npz, x_test = write_data(d, shape=shape)
  model.save(os.path.join(d, name))
  proc = run_bin("evaluate_sensitivity", f"--model={d}/{name}", f"--dataset={npz}",
                 f"--output_dir={d}/out", *EVAL, *flags)
  return proc, x_test


def read_summary(directory):
  return json.loads(pathlib.Path(directory, "sensitivity", "summary.json").read_text())


def randomize_batchnorm(model, seed=0):
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      gamma, beta, mean, var = layer.get_weights()
      layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.3, beta.shape),
                         rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2, var.shape)])


def conv_bn(shape=(8, 8, 1)):
  return keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, activation="relu"),
                           keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2),
                           keras.layers.Flatten(), keras.layers.Dense(3)])


def dense_bn(shape=(8, 8, 1)):
  return keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                           keras.layers.Dense(16), keras.layers.BatchNormalization(),
                           keras.layers.ReLU(), keras.layers.Dense(3)])


def mixed_float16(shape=(8, 8, 1)):
  keras.mixed_precision.set_global_policy("mixed_float16")
  try:
    return keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Flatten(),
                             keras.layers.Dense(3),
                             keras.layers.Activation("softmax", dtype="float32")])
  finally:
    keras.mixed_precision.set_global_policy("float32")


def float16_dense(shape=(8, 8, 1)):
  return keras.Sequential([keras.Input(shape, dtype="float16"),
                           keras.layers.Flatten(dtype="float16"),
                           keras.layers.Dense(16, activation="relu", dtype="float16"),
                           keras.layers.Dense(3, dtype="float16")])


def float32_twin(model):
  """The float16 Dense stack's weights in a float32 model: what the evaluation computes."""
  twin = keras.Sequential([keras.Input(model.inputs[0].shape[1:]), keras.layers.Flatten(),
                           keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
  twin.set_weights([w.astype(np.float32) for w in model.get_weights()])
  return twin


class SavedModelsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(
      ("conv_batchnorm_keras", conv_bn, "keras", 1e-5),
      ("conv_batchnorm_h5", conv_bn, "h5", 1e-5),
      ("dense_batchnorm_keras", dense_bn, "keras", 1e-5),
      ("mixed_float16_keras", mixed_float16, "keras", 2e-2),
      ("float16_keras", float16_dense, "keras", 2e-2))
  @pytest.mark.slow
  def test_saved_sequential_equals_the_model_built_in_the_process(self, build, suffix, rtol):
    keras.utils.set_random_seed(0)
    model = build()
    randomize_batchnorm(model)
    with tempfile.TemporaryDirectory() as d:
      proc, x_test = evaluate_saved(d, model, f"model.{suffix}")
      path = os.path.join(d, f"model.{suffix}")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      summary = read_summary(f"{d}/out")
      points = pd.read_parquet(pathlib.Path(d, "out", "sensitivity", evaluation.POINTS))
      loaded = keras.saving.load_model(path, compile=False)
    # Oracle: the in-process model (never saved or loaded), its norms and its transitions.
    test = points[points.split == "test"].sort_values("index")
    reference = float32_twin(model) if build is float16_dense else model
    expected = api.jacobian_norms(reference, x_test).norms
    self.assertAllClose(test.jacobian_norm.to_numpy(), expected, rtol=rtol)
    if suffix != "h5" and build is not float16_dense:
      ellipses = api.ellipses(x_test, count=3, seed=1)
      self.assertAllEqual(api.transitions(loaded, ellipses, 96, 16).counts,
                          api.transitions(model, ellipses, 96, 16).counts)
    self.assertEqual(summary["num_test_points"], len(x_test))

  @pytest.mark.slow
  def test_a_recurrent_model_is_refused_naming_the_cause(self):
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.LSTM(4),
                              keras.layers.Dense(3)])
    with tempfile.TemporaryDirectory() as d:
      proc, _ = evaluate_saved(d, model, "lstm.keras")
    assert_one_line_error(self, proc, "cannot obtain the codes of layer 'lstm' (LSTM): a "
                          "recurrent layer")

  @pytest.mark.slow
  def test_a_channels_first_model_on_channels_last_data_is_refused(self):
    model = keras.Sequential([keras.Input((3, 8, 8)), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    with tempfile.TemporaryDirectory() as d:
      proc, _ = evaluate_saved(d, model, "cf.keras", shape=(8, 8, 3))
      assert_one_line_error(self, proc, "takes inputs of shape (3, 8, 8) but the data holds "
                            "images of shape (8, 8, 3); allowed: a model input of shape "
                            "(8, 8, 3) or (192,)")
      self.assertFalse(pathlib.Path(d, "out", "sensitivity").exists())
    with self.assertRaisesRegex(ValueError, r"inputs of shape \(8, 8, 3\) do not fit the "
                                r"model's input shape \(3, 8, 8\)"):
      api.jacobian_norms(model, np.zeros((2, 8, 8, 3), np.float32))

  @pytest.mark.slow
  def test_unknown_input_sizes_are_refused_in_one_line(self):
    model = keras.Sequential([keras.Input((None, None, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    with tempfile.TemporaryDirectory() as d:
      proc, _ = evaluate_saved(d, model, "any_size.keras")
    assert_one_line_error(self, proc, "takes inputs of shape (None, None, 1), whose sizes are "
                          "unknown")


class CacheKeyTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_standardize_is_part_of_the_cache_key(self):
    keras.utils.set_random_seed(0)
    model = dense_bn()
    with tempfile.TemporaryDirectory() as d:
      npz, _ = write_data(d)
      model.save(f"{d}/m.keras")
      common = [f"--model={d}/m.keras", f"--dataset={npz}", f"--output_dir={d}/out", *EVAL]
      runs = {}
      for name, extra in (("plain", []), ("standardized", ["--standardize"]),
                          ("again", ["--standardize"])):
        proc = run_bin("evaluate_sensitivity", *common, *extra)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        runs[name] = (proc.stdout, read_summary(f"{d}/out"))
    self.assertNotIn("cached", runs["plain"][0])
    self.assertNotIn("cached", runs["standardized"][0])  # was served the plain tables
    self.assertIn("cached", runs["again"][0])
    self.assertFalse(runs["plain"][1]["data"]["standardize"])
    self.assertTrue(runs["standardized"][1]["data"]["standardize"])
    self.assertNotEqual(runs["plain"][1]["jacobian_test_mean"],
                        runs["standardized"][1]["jacobian_test_mean"])

  def test_every_input_that_changes_a_number_changes_the_key(self):
    keras.utils.set_random_seed(0)
    model = dense_bn()
    with tempfile.TemporaryDirectory() as d:
      npz, _ = write_data(d)
      model.save(f"{d}/m.keras")
      out = f"{d}/out"
      def evaluate(settings=SMALL, **options):
        summary = evaluations.evaluate_model_file(f"{d}/m.keras", data.load(npz, **options),
                                                  out, settings)
        return summary["cached"]
      self.assertFalse(evaluate())
      self.assertTrue(evaluate())
      for options in (dict(train_subset=15), dict(train_subset=15, subset_seed=1),
                      dict(random_label_fraction=0.5), dict(standardize=True)):
        self.assertFalse(evaluate(**options), options)
        self.assertTrue(evaluate(**options), options)
      import dataclasses
      for change in (dict(trajectory_seed=1), dict(jacobian_batch_size=8),
                     dict(variant="logits")):
        self.assertFalse(evaluate(dataclasses.replace(SMALL, **change)), change)
      keras.utils.set_random_seed(1)
      dense_bn().save(f"{d}/m.keras")  # another model in the same file
      self.assertFalse(evaluate(dataclasses.replace(SMALL, variant="logits")))


class PathsAndMessagesTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_tilde_output_dir_is_the_home_for_tables_and_row(self):
    home_tilde = REPO / "~"
    existed = home_tilde.exists()
    with tempfile.TemporaryDirectory() as d, mock.patch.dict(os.environ, HOME=d):
      try:
        npz, _ = write_data(d)
        dense_bn().save(f"{d}/m.keras")
        proc = run_bin("evaluate_sensitivity", f"--model={d}/m.keras", f"--dataset={npz}",
                       "--output_dir=~/x", *EVAL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(pathlib.Path(d, "x", "sensitivity", "summary.json").is_file())
        self.assertTrue(pathlib.Path(d, "x", "sensitivity_table").is_dir())
        self.assertEqual(existed, home_tilde.exists())
      finally:
        if home_tilde.exists() and not existed:
          shutil.rmtree(home_tilde)

  @pytest.mark.slow
  def test_a_run_directory_as_output_dir_is_refused(self):
    with tempfile.TemporaryDirectory() as d:
      npz, _ = write_data(d)
      run = pathlib.Path(d, "run")
      proc = run_bin("train", f"--dataset={npz}", "--depth=1", "--width=8", "--max_steps=2",
                     "--noprogress", f"--output_dir={run}")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      proc = run_bin("evaluate_sensitivity", str(run), *EVAL)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      before = (run / "sensitivity" / "summary.json").read_bytes()
      dense_bn().save(f"{d}/other.keras")
      proc = run_bin("evaluate_sensitivity", f"--model={d}/other.keras", f"--dataset={npz}",
                     f"--output_dir={run}", *EVAL)
      assert_one_line_error(self, proc, f"--output_dir={run} is a bin/train run directory")
      self.assertEqual(before, (run / "sensitivity" / "summary.json").read_bytes())

  @pytest.mark.slow
  def test_output_dir_that_is_a_file(self):
    with tempfile.TemporaryDirectory() as d:
      npz, _ = write_data(d)
      dense_bn().save(f"{d}/m.keras")
      pathlib.Path(d, "afile").write_text("x")
      proc = run_bin("evaluate_sensitivity", f"--model={d}/m.keras", f"--dataset={npz}",
                     f"--output_dir={d}/afile", *EVAL)
      assert_one_line_error(self, proc, f"--output_dir={d}/afile is a file; allowed: a "
                            "directory")
      proc = run_bin("train", f"--dataset={npz}", "--depth=1", "--width=8", "--max_steps=2",
                     "--noprogress", f"--output_dir={d}/afile")
      assert_one_line_error(self, proc, f"--output_dir={d}/afile is a file; allowed: a "
                            "directory")

  @pytest.mark.slow
  def test_damaged_and_directory_model_paths_say_what_they_are(self):
    with tempfile.TemporaryDirectory() as d:
      npz, _ = write_data(d)
      dense_bn().save(f"{d}/m.keras")
      raw = pathlib.Path(d, "m.keras").read_bytes()
      pathlib.Path(d, "cut.keras").write_bytes(raw[:len(raw) // 2])
      proc = run_bin("evaluate_sensitivity", f"--model={d}/cut.keras", f"--dataset={npz}",
                     f"--output_dir={d}/out", *EVAL)
      assert_one_line_error(self, proc, f"{d}/cut.keras: damaged or not a Keras model file")
      self.assertNotIn("not found", proc.stderr)
      proc = run_bin("evaluate_sensitivity", f"--model={d}", f"--dataset={npz}",
                     f"--output_dir={d}/out", *EVAL)
      assert_one_line_error(self, proc, f"model {d} is a directory; allowed: a .keras or "
                            ".h5 model file")

  @pytest.mark.slow
  def test_nan_weights_report_nan_accuracy(self):
    keras.utils.set_random_seed(0)
    model = dense_bn()
    model.layers[-1].set_weights([np.full((16, 3), np.nan, np.float32),
                                  np.zeros(3, np.float32)])
    with tempfile.TemporaryDirectory() as d:
      proc, _ = evaluate_saved(d, model, "nan.keras")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      summary = read_summary(f"{d}/out")
      points = pd.read_parquet(pathlib.Path(d, "out", "sensitivity", evaluation.POINTS))
    self.assertIn("test accuracy nan", proc.stdout)
    self.assertIsNone(summary["test_accuracy_evaluated"])
    self.assertTrue((points.predicted == -1).all())
    self.assertFalse(points.correct.any())

  @pytest.mark.slow
  def test_zero_ellipses_per_kind_gives_points_only(self):
    with tempfile.TemporaryDirectory() as d:
      proc, _ = evaluate_saved(d, dense_bn(), "m.keras", "--ellipses_per_kind=0")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      out = pathlib.Path(d, "out", "sensitivity")
      traj = pd.read_parquet(out / evaluation.TRAJECTORY_TRANSITIONS)
      points = pd.read_parquet(out / evaluation.POINTS)
      summary = read_summary(f"{d}/out")
    self.assertLen(traj, 0)
    self.assertIn("loop_transitions", traj.columns)
    self.assertLen(points[points.split == "test"], 12)
    self.assertIsNone(summary["transitions_random_mean"])


class ApiChecksTest(tf.test.TestCase):

  def test_ellipses_refuses_bad_arguments(self):
    x = np.random.default_rng(0).uniform(size=(12, 4)).astype(np.float32)
    y = np.arange(12) % 3
    for kwargs, message in (
        (dict(y=y[:5], kind="same_class"), r"y has 5 labels for 12 points"),
        (dict(count=-1), r"count=-1 is invalid; allowed: an integer >= 0"),
        (dict(low=1.0, high=0.0), r"low=1.0 > high=0.0; allowed: low <= high")):
      with self.assertRaisesRegex(ValueError, message):
        api.ellipses(x, **kwargs)
    self.assertLen(api.ellipses(x, y, kind="same_class", count=2), 2)


if __name__ == "__main__":
  tf.test.main()
