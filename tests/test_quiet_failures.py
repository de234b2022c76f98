"""Small things that were silently wrong: NaN in JSON, negative overhead, a lost history,
an unannounced batch-size cut."""

import dataclasses
import json
import pathlib
import tempfile
from unittest import mock

import numpy as np
import pandas as pd
import tensorflow as tf

from conftest import tiny_dataset
from sensitivity_tf.commands import config_files
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.store import run_dir
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.survey import driver

SMALL = evaluation.EvaluationSettings(num_samples=96, bins=16, ellipses_per_kind=1,
                                      ellipse_jacobian_samples=12, test_point_ellipses=3)


def strict_json(path):
  def refuse(constant):
    raise ValueError(f"{path}: non-standard JSON constant {constant}")
  return json.loads(pathlib.Path(path).read_text(), parse_constant=refuse)


def config(**overrides):
  cfg = train_config.default_config()
  cfg.update(dict(depth=1, width=8, max_steps=6, eval_every=3, progress=False), **overrides)
  return cfg


class QuietFailuresTest(tf.test.TestCase):

  def test_every_json_file_of_a_diverged_run_is_strict(self):
    ds = tiny_dataset()
    x = ds.x_train.copy()
    x[:, 0] = np.nan  # the loss is NaN at once (tanh keeps NaN; TF's relu makes it 0)
    ds = dataclasses.replace(ds, x_train=x)
    with tempfile.TemporaryDirectory() as d:
      metrics = train_run.train(config(nonlinearity="tanh"), d, dataset=ds, log=lambda *_: None)
      self.assertEqual(metrics["stop_reason"], "diverged")
      run = run_dir.RunDirectory(d)
      summary = evaluations.evaluate_run(run, SMALL, dataset=ds)
      files = sorted(pathlib.Path(d).rglob("*.json"))
      self.assertGreaterEqual(len(files), 3)  # config, metrics, summary
      for path in files:
        strict_json(path)
      self.assertIsNone(strict_json(pathlib.Path(d, "metrics.json"))["train_loss"])
      # NaN logits give no accuracy (their argmax is class 0, a third of these labels).
      self.assertIsNone(strict_json(pathlib.Path(d, "metrics.json"))["train_accuracy"])
      written = strict_json(pathlib.Path(d, "sensitivity", "summary.json"))
      self.assertIsNone(written["jacobian_test_mean"])
      # Not "0 transitions" beside a NaN Jacobian norm: no count for a diverged network.
      self.assertIsNone(written["transitions_random_mean"])
      self.assertTrue(np.isnan(summary["transitions_random_mean"]))
      cached = evaluations.evaluate_run(run, SMALL, dataset=ds)
      self.assertIn("‖J‖ test mean nan", evaluation.summary_line(cached))

  def test_unreadable_history_is_an_error_and_the_batch_cut_is_announced(self):
    ds = tiny_dataset(n_train=60)
    with tempfile.TemporaryDirectory() as d:
      messages = []
      train_run.train(config(batch_size=500), d, dataset=ds, log=messages.append)
      self.assertIn("batch_size=500 is more than the 60 training examples: training full "
                    "batch (60)", messages[0])
      pathlib.Path(d, "history.csv").write_bytes(b"\x00garbage,\n\"unterminated")
      with self.assertRaisesRegex(run_dir.RunDirError, r"history.csv: cannot be read .*"
                                  "--overwrite"):
        run_dir.RunDirectory(d).history()

  def test_a_resumed_trial_never_gives_negative_overhead(self):
    s = config_files.common().default_survey("tiny").to_dict()
    s.update(name="t", num_models=2)
    real_train = train_run.train_model

    def resumed(cfg, output_dir, **kwargs):  # as if an earlier attempt had trained 1000 s
      metrics, model = real_train(cfg, output_dir, **kwargs)
      return dict(metrics, wall_time_secs=metrics["wall_time_secs"] + 1000.0), model

    with tempfile.TemporaryDirectory() as d, \
        mock.patch.object(train_run, "train_model", resumed):
      summary = driver.run_survey(s, d, progress=False)
      frame = pd.read_parquet(pathlib.Path(d, "table"))
    self.assertGreaterEqual(summary["overhead_share"], 0.0)
    self.assertTrue((frame.total_wall_secs >= frame.train_wall_secs + frame.eval_wall_secs).all())


if __name__ == "__main__":
  tf.test.main()
