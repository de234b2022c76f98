"""Models this project did not train, and data of one's own, end to end: bin/train on a new
.npz shape and a class-folder tree, bin/evaluate_sensitivity --model, the Python API and
the README's example, one-line errors for models and data that do not fit."""

import json
import os
import pathlib
import re
import tempfile

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import keras_zoo
from conftest import REPO, assert_one_line_error, run_bin
from sensitivity_tf import data
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.metrics import jacobian
from sensitivity_tf.store import run_dir
from test_data_sources import write_npz, write_tree

QUICK = ["--num_samples=96", "--bins=16", "--ellipses_per_kind=1",
         "--ellipse_jacobian_samples=12", "--test_point_ellipses=3", "--test_points=20"]


class EndToEndTest(tf.test.TestCase):

  def train_and_evaluate(self, d, dataset, *train_flags):
    run = os.path.join(d, "run")
    proc = run_bin("train", f"--dataset={dataset}", "--depth=1", "--width=8", "--max_steps=40",
                   "--eval_every=20", "--noprogress", f"--output_dir={run}", *train_flags)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    config = json.loads(pathlib.Path(run, "config.json").read_text())
    self.assertEqual(config["data"]["name"], dataset)
    self.assertRegex(config["data"]["fingerprint"], r"^[0-9a-f]{16,}$")
    out = os.path.join(d, "eval")
    model_file = os.path.join(run, "model.keras")
    proc = run_bin("evaluate_sensitivity", f"--model={model_file}", f"--dataset={dataset}",
                   f"--output_dir={out}", *QUICK)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertRegex(proc.stdout, r"‖J‖ test mean \d\.\d+e[-+]\d+ .*transitions per loop")
    summary = json.loads(pathlib.Path(out, "sensitivity", "summary.json").read_text())
    self.assertEqual(summary["model_sha256"], run_dir.file_sha256(model_file))
    self.assertEqual(summary["data"]["fingerprint"], config["data"]["fingerprint"])
    self.assertEqual(summary["dataset"], dataset)
    points = pd.read_parquet(pathlib.Path(out, "sensitivity", evaluation.POINTS))
    self.assertLen(points[points.split == "test"], min(20, summary["data"]["num_test"]))
    self.assertTrue(np.all(points.jacobian_norm > 0))
    return summary, points

  @pytest.mark.slow
  def test_npz_of_a_new_shape_with_a_cnn(self):
    with tempfile.TemporaryDirectory() as d:
      npz = os.path.join(d, "grey8.npz")
      write_npz(npz, shape=(8, 8), classes=4)
      summary, points = self.train_and_evaluate(d, npz, "--architecture=cnn")
      self.assertEqual(summary["jacobian_route"], "gradient_tape")
      self.assertEqual(sorted(points.label.unique()), [0, 1, 2, 3])
      again = run_bin("evaluate_sensitivity", f"--model={d}/run/model.keras",
                      f"--dataset={npz}", f"--output_dir={d}/eval", *QUICK)
      self.assertIn("| cached", again.stdout)

  @pytest.mark.slow
  def test_class_folder_tree_with_an_fc_network(self):
    with tempfile.TemporaryDirectory() as d:
      tree = write_tree(pathlib.Path(d) / "animals", per_class=4)
      summary, _ = self.train_and_evaluate(d, str(tree))
      self.assertIn(summary["jacobian_route"], ("gram", "direct"))
      self.assertTrue(summary["data"]["source"].startswith("image_tree:"))

  @pytest.mark.slow
  def test_models_and_data_that_do_not_fit_give_one_line_errors(self):
    with tempfile.TemporaryDirectory() as d:
      npz = os.path.join(d, "grey8.npz")
      write_npz(npz, shape=(8, 8), classes=4)
      x = keras.Input((64,))
      no_classifier = keras.Model(x, keras.layers.Dense(4, activation="sigmoid")(x))
      no_classifier.save(os.path.join(d, "sigmoid.keras"))
      other_shape = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(4)])
      other_shape.save(os.path.join(d, "mnist_shaped.keras"))
      for model, message in (("sigmoid.keras", "applies sigmoid; its logits cannot be reached"),
                             ("mnist_shaped.keras", "takes inputs of shape (28, 28, 1) but the "
                              "data holds images of shape (8, 8, 1)"),
                             ("missing.keras", "does not exist")):
        proc = run_bin("evaluate_sensitivity", f"--model={d}/{model}", f"--dataset={npz}",
                       f"--output_dir={d}/out", *QUICK)
        assert_one_line_error(self, proc, message)
      assert_one_line_error(self, run_bin("evaluate_sensitivity", f"--model={d}/sigmoid.keras"),
                            "--model, --dataset and --output_dir go together")


class ForeignModelTest(tf.test.TestCase):

  def test_a_softmax_cnn_saved_elsewhere(self):
    with tempfile.TemporaryDirectory() as d:
      npz = os.path.join(d, "colour.npz")
      write_npz(npz, shape=(8, 8, 2), classes=5)
      model = keras_zoo.cnn("relu", classes=5, final="dense_softmax")
      path = os.path.join(d, "foreign.keras")
      model.save(path)
      ds = data.load(npz)
      settings = evaluation.EvaluationSettings(num_samples=96, bins=16, ellipses_per_kind=1,
                                               ellipse_jacobian_samples=12,
                                               test_point_ellipses=2)
      summary = evaluations.evaluate_model_file(path, ds, d, settings)
      points = pd.read_parquet(pathlib.Path(d, "sensitivity", evaluation.POINTS))
    test = points[points.split == "test"]
    expected = jacobian.JacobianNorm(model)(ds.x_test).norms
    self.assertAllClose(test.jacobian_norm, expected, rtol=1e-6)
    probs = model(ds.x_test.reshape(-1, 8, 8, 2), training=False).numpy()
    self.assertAllClose(test.confidence, probs.max(1), rtol=1e-5)  # logits behind the softmax
    self.assertAllClose(test.loss, -np.log(probs[np.arange(len(probs)), ds.y_test]), rtol=1e-4)
    self.assertEqual(summary["dataset"], npz)


class ReadmeTest(tf.test.TestCase):

  def test_the_readme_api_example_runs_as_written(self):
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", readme, re.S)
    self.assertIsNotNone(match, "README has no api-example block")
    scope = {}
    exec(compile(match.group(1), "README.md", "exec"), scope)  # noqa: S102
    self.assertEqual(scope["norms"].norms.shape, (30,))
    self.assertTrue(np.all(scope["norms"].norms > 0))
    self.assertLen(scope["counts"].counts, 2)
    self.assertGreater(scope["counts"].counts.sum(), 0)


if __name__ == "__main__":
  tf.test.main()
