"""Sensitivity evaluation of run directories: tables, summary, cache, and bin/ end to end."""

import json
import math
import os
import pathlib
import tempfile
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import tiny_dataset
from sensitivity_tf.store import atomic
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.metrics import jacobian
from sensitivity_tf.store import run_dir
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.metrics import transitions
from sensitivity_tf.store.row_table import RowTable
from conftest import MNIST_NPZ, assert_one_line_error, run_bin

SMALL = evaluation.EvaluationSettings(num_samples=384, bins=32, ellipses_per_kind=3,
                                      ellipse_jacobian_samples=24, test_point_ellipses=5,
                                      jacobian_batch_size=16)


def trained_run(directory, **overrides):
  ds = tiny_dataset(n_train=60, n_test=30, image_shape=(4, 4, 1), num_classes=3)
  cfg = train_config.default_config()
  cfg.update(dict(depth=2, width=16, learning_rate=0.01, batch_size=16, max_steps=200,
                  progress=False), **overrides)
  train_run.train(cfg, directory, dataset=ds, log=lambda *_: None)
  return run_dir.RunDirectory(directory), ds


class EvaluateRunTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.TemporaryDirectory()
    cls.run_directory, cls.ds = trained_run(os.path.join(cls.tmp.name, "run"))
    cls.table = RowTable(os.path.join(cls.tmp.name, "table"), evaluation.SUMMARY_SCHEMA)
    cls.summary = evaluations.evaluate_run(cls.run_directory, SMALL, dataset=cls.ds, table=cls.table)

  @classmethod
  def tearDownClass(cls):
    cls.tmp.cleanup()
    super().tearDownClass()

  def test_points_table(self):
    points = pd.read_parquet(self.run_directory.file("sensitivity") / evaluation.POINTS)
    test = points[points.split == "test"]
    train = points[points.split == "train"]
    self.assertLen(test, 30)
    self.assertLen(train, 30)  # equal-size training subset
    model = self.run_directory.load_model()
    exact = jacobian.jacobian_norms(model, self.ds.x_test).norms
    self.assertAllClose(test.jacobian_norm, exact, rtol=1e-6)
    logits = model(self.ds.x_test).numpy().astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    self.assertAllClose(test.loss, -np.log(p[np.arange(30), self.ds.y_test]), rtol=1e-6)
    self.assertAllClose(test.confidence, p.max(1), rtol=1e-6)
    self.assertAllEqual(test.correct, logits.argmax(1) == self.ds.y_test)
    self.assertEqual(self.summary["jacobian_test_mean"], test.jacobian_norm.mean())
    self.assertEqual(test.test_point_transitions.notna().sum(), 5)
    self.assertEqual(points.settings_id.unique().tolist(), [SMALL.settings_id])

  def test_test_point_transitions_match_direct_count(self):
    points = pd.read_parquet(self.run_directory.file("sensitivity") / evaluation.POINTS)
    rows = points[points.test_point_transitions.notna()]
    from sensitivity_tf.metrics import trajectories
    ellipses = trajectories.ellipses_through_test_points(self.ds.x_test, rows["index"].values,
                                                         SMALL.test_point_seed)
    counts = transitions.TransitionCounter(self.run_directory.load_model(), num_samples=384,
                                           bins=32).along(ellipses).counts
    self.assertAllEqual(rows.test_point_transitions.values, counts)

  def test_trajectory_tables_and_summary(self):
    out = self.run_directory.file("sensitivity")
    traj_j = pd.read_parquet(out / evaluation.TRAJECTORY_JACOBIAN)
    traj_t = pd.read_parquet(out / evaluation.TRAJECTORY_TRANSITIONS)
    self.assertEqual(sorted(traj_j.kind.unique()), ["different_class", "random", "same_class"])
    self.assertLen(traj_j, 3 * 3 * 24)
    self.assertEqual(traj_j.is_anchor.sum(), 3 * 3 * 3)
    self.assertLen(traj_t, 3 * 3 * 32)
    loops = traj_t.groupby(["kind", "ellipse"]).agg(total=("transitions", "sum"),
                                                    loop=("loop_transitions", "first"))
    self.assertAllEqual(loops.total, loops.loop)
    self.assertAllClose(traj_t.density, traj_t.transitions * 32 / (2 * math.pi))
    summary = json.loads((out / evaluation.SUMMARY).read_text())
    self.assertEqual(summary["settings"]["num_samples"], 384)
    self.assertEqual(summary["settings_id"], SMALL.settings_id)
    self.assertAllClose(summary["transitions_random_mean"],
                        loops.loc["random"].loop.mean())
    self.assertIn("tensorflow", summary["versions"])

  def test_table_row_and_settings_metadata(self):
    frame = pd.read_parquet(self.table.path)
    self.assertLen(frame, 1)
    self.assertEqual(frame.settings_id[0], SMALL.settings_id)
    self.assertEqual(json.loads(frame.settings[0])["ellipses_per_kind"], 3)
    self.assertAllClose(frame.jacobian_test_mean[0], self.summary["jacobian_test_mean"])
    points = pd.read_parquet(self.run_directory.file("sensitivity") / evaluation.POINTS)
    self.assertEqual(points.attrs["settings"]["settings_id"], SMALL.settings_id)

  def test_cached_unless_forced_or_settings_change(self):
    with mock.patch.object(evaluation, "evaluate") as never:
      again = evaluations.evaluate_run(self.run_directory, SMALL, dataset=self.ds, table=self.table)
      never.assert_not_called()
    self.assertTrue(again["cached"])
    self.assertEqual(again["jacobian_test_mean"], self.summary["jacobian_test_mean"])
    with mock.patch.object(evaluation, "evaluate", wraps=evaluation.evaluate) as spy:
      evaluations.evaluate_run(self.run_directory, SMALL, dataset=self.ds, force=True)
      other = evaluation.EvaluationSettings(**dict(vars(SMALL), bins=64))
      evaluations.evaluate_run(self.run_directory, other, dataset=self.ds)
      self.assertEqual(spy.call_count, 2)
    evaluations.evaluate_run(self.run_directory, SMALL, dataset=self.ds)  # restore for other tests

  def test_interrupted_evaluation_leaves_previous_tables_whole(self):
    with tempfile.TemporaryDirectory() as d:
      run, ds = trained_run(os.path.join(d, "run"))
      evaluations.evaluate_run(run, SMALL, dataset=ds)
      before = {p.name: p.read_bytes() for p in run.file("sensitivity").iterdir()}
      other = evaluation.EvaluationSettings(**dict(vars(SMALL), point_seed=5, test_points=10))
      # Killed after the new points table is written, before the summary.
      with mock.patch.object(atomic, "write_json",
                             side_effect=KeyboardInterrupt("killed")):
        with self.assertRaises(KeyboardInterrupt):
          evaluations.evaluate_run(run, other, dataset=ds)
      after = {p.name: p.read_bytes() for p in run.file("sensitivity").iterdir()}
      self.assertEqual(after, before)  # the previous evaluation, whole
      self.assertEqual([p.name for p in run.path.iterdir() if p.name.startswith(".tmp")], [])
      self.assertIsNone(evaluations._cached(run, other))
      self.assertIsNotNone(evaluations._cached(run, SMALL))
      again = evaluations.evaluate_run(run, other, dataset=ds)
      self.assertFalse(again["cached"])
      self.assertLen(pd.read_parquet(run.file("sensitivity") / evaluation.POINTS), 20)

  def test_invalid_settings(self):
    for field, value, message in (("num_samples", 100, "num_samples=100 is invalid"),
                                  ("variant", "probs", "variant='probs' is invalid"),
                                  ("ellipse_jacobian_samples", 10, "multiple of 6")):
      with self.assertRaisesRegex(train_config.ConfigError, message):
        evaluation.EvaluationSettings(**{field: value}).validate()


class BinEvaluateTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_end_to_end_on_real_subset_and_bad_paths(self):
    with tempfile.TemporaryDirectory() as d:
      out = os.path.join(d, "runs", "a")
      proc = run_bin("train", "--dataset=fashion_mnist", "--train_subset=300", "--depth=1",
                     "--width=32", "--max_steps=40", "--noprogress", f"--output_dir={out}")
      self.assertEqual(proc.returncode, 0, proc.stderr)
      args = ["--test_points=500", "--num_samples=384", "--bins=32", "--ellipses_per_kind=2",
              "--ellipse_jacobian_samples=12", "--test_point_ellipses=4"]
      proc = run_bin("evaluate_sensitivity", os.path.join(d, "runs", "*"), *args)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      self.assertRegex(proc.stdout, r"‖J‖ test mean \d\.\d+e[-+]\d+ .*transitions per loop")
      table = pd.read_parquet(os.path.join(d, "runs", "sensitivity_table"))
      self.assertLen(table, 1)
      self.assertEqual(table.dataset[0], "fashion_mnist")
      points = pd.read_parquet(pathlib.Path(out, "sensitivity", evaluation.POINTS))
      self.assertEqual((points.split == "test").sum(), 500)
      again = run_bin("evaluate_sensitivity", out, *args)
      self.assertIn("| cached", again.stdout)
      # The data used is recorded; other data (MNIST for a Fashion-MNIST run) is refused.
      summary = json.loads(pathlib.Path(out, "sensitivity", evaluation.SUMMARY).read_text())
      trained = json.loads(pathlib.Path(out, "config.json").read_text())["data"]
      self.assertStartsWith(summary["data_source"], "idx:/usr/share/datasets/fashion-mnist")
      self.assertEqual(summary["data_fingerprint"], trained["fingerprint"])
      self.assertEqual(table.data_fingerprint[0], trained["fingerprint"])
      wrong = run_bin("evaluate_sensitivity", out, *args, f"--data_dir={MNIST_NPZ}")
      assert_one_line_error(self, wrong, f"was trained on data with fingerprint "
                            f"{trained['fingerprint']}")
      self.assertIn("--allow_other_data", wrong.stderr)
      anyway = run_bin("evaluate_sensitivity", out, *args, f"--data_dir={MNIST_NPZ}",
                       "--allow_other_data")
      self.assertEqual(anyway.returncode, 0, anyway.stderr)
      summary = json.loads(pathlib.Path(out, "sensitivity", evaluation.SUMMARY).read_text())
      self.assertEqual(summary["data_source"], f"npz:{MNIST_NPZ}")
      self.assertNotEqual(summary["data_fingerprint"], trained["fingerprint"])
      from sensitivity_tf.survey import results
      results.table(os.path.join(d, "survey")).write_row("k", dict(trial_key="k"))
      for bad, message in (([os.path.join(d, "nope")], "no such run directory"),
                           ([out, f"--table={pathlib.Path(out, 'config.json')}"], "is a file"),
                           ([out, f"--table={os.path.join(d, 'survey', 'table')}"],
                            "holds survey rows; this tool writes sensitivity_summary rows"),
                           ([d], "not a run directory"),
                           ([out, "--num_samples=100"], "num_samples=100 is invalid"),
                           ([], "no run directory given")):
        assert_one_line_error(self, run_bin("evaluate_sensitivity", *bad), message)


if __name__ == "__main__":
  tf.test.main()
