"""The fidelity study (issue 20) end to end on its tiny preset: one long run per network and
setting measured at every checkpoint, the table and figure, caching, and bad configs."""

import math
import pathlib
import re
import tempfile
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from sensitivity_tf.commands import config_files
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.reproduce.experiments import fidelity
from sensitivity_tf.reproduce.workspace import Workspace
from sensitivity_tf.store import run_dir
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run



@pytest.mark.slow
class FidelityTinyTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.TemporaryDirectory()
    cls.ws = Workspace(cls.tmp.name, "tiny", progress=False, log=lambda *_: None)
    cls.cfg = config_files.experiment_config("fidelity", "tiny")
    reproduction.validate_config(cls.cfg)
    reproduction.run_experiment("fidelity", cls.cfg, cls.ws)
    cls.root = pathlib.Path(cls.tmp.name)
    cls.table = pd.read_csv(cls.root / "fashion_mnist" / "tables" / "fidelity.csv")

  @classmethod
  def tearDownClass(cls):
    cls.tmp.cleanup()
    super().tearDownClass()

  def test_one_row_per_setting_and_checkpoint_with_every_feature_and_match(self):
    t = self.table
    self.assertEqual(list(zip(t.setting, t.budget_multiple)),
                     [(s, m) for s in ("raw_subset", "standardized_full")
                      for m in self.cfg.checkpoints])
    self.assertEqual(list(t.step_trajectories), [400, 800, 400, 800])
    for feature in fidelity.MATCHES:
      self.assertEqual(t[f"matches_{feature}"].dtype, bool, feature)
    full = t[t.full_training_set]
    self.assertTrue((full.train_size_trajectories == 60000).all())
    self.assertTrue((t[~t.full_training_set].train_size_trajectories == 200).all())
    self.assertTrue((self.root / "figures" / "fidelity_fashion_mnist.png").is_file())

  def test_jacobian_per_raw_pixel(self):
    t = self.table
    raw, standardized = t[~t.standardize], t[t.standardize]
    # Raw inputs: the model's input is the raw pixel, the two numbers are the same.
    self.assertAllEqual(raw.jacobian_anchors, raw.jacobian_anchors_raw_pixels)
    self.assertTrue((raw.jacobian_unit == "per raw pixel in [0, 1]").all())
    # Standardized: every pixel's std in [0, 1] is below 1 (or exactly 1 where it is zero),
    # so ‖J‖ per raw pixel, J divided column-wise by the std, is the larger.
    self.assertTrue((standardized.jacobian_anchors_raw_pixels
                     > standardized.jacobian_anchors).all())
    self.assertTrue(standardized.jacobian_unit.str.startswith("per standardized unit").all())

  def test_rows_come_from_snapshots_of_one_long_run(self):
    t = self.table
    runs = sorted((self.root / "fashion_mnist" / "networks").glob("fidelity_trajectories-*"))
    self.assertLen(runs, 2)  # one long run per setting, not one per checkpoint
    for path in runs:
      run = run_dir.RunDirectory(path)
      self.assertTrue(run.snapshot(400).is_file() and run.snapshot(800).is_file())
      setting = "standardized_full" if run.config()["config"]["standardize"] else "raw_subset"
      history = {r.step: r.train_loss for r in run.history()}
      rows = t[t.setting == setting].set_index("budget_multiple")
      self.assertAllClose([rows.train_loss_trajectories[1], rows.train_loss_trajectories[2]],
                          [history[400], history[800]])

  def test_rerun_trains_nothing_and_reevaluates_only_what_is_missing(self):
    cached = sorted((self.root / "fashion_mnist" / "fidelity").glob(
        "fidelity_trajectories-*/step_800_*_jacobian.parquet"))
    self.assertNotEmpty(cached)
    cached[0].unlink()
    calls = []
    real = evaluation.evaluate
    with mock.patch.object(train_run.training.Trainer, "run") as never, \
        mock.patch.object(evaluation, "evaluate",
                          lambda *a, **k: calls.append(1) or real(*a, **k)):
      reproduction.run_experiment("fidelity", self.cfg, self.ws)
      never.assert_not_called()
    self.assertLen(calls, 1)
    again = pd.read_csv(self.root / "fashion_mnist" / "tables" / "fidelity.csv")
    pd.testing.assert_frame_equal(again, self.table)


class FidelityConfigTest(tf.test.TestCase):

  def test_bad_settings_and_checkpoints_are_refused_in_one_line(self):
    cfg = config_files.experiment_config("fidelity", "tiny")
    reproduction.validate_config(cfg)
    for field, value, message in (
        ("checkpoints", [2, 1], "checkpoints=[2, 1] is invalid; allowed: increasing integers "
                                ">= 1 (multiples of each network's budget)"),
        ("checkpoints", [0], "checkpoints=[0] is invalid"),
        ("settings", "raw_subset,units", "settings='raw_subset,units' is invalid; allowed: "
                                         "distinct settings separated by commas, from "
                                         "raw_full, raw_subset, standardized_full"),
        ("settings", "raw_full,raw_full", "settings='raw_full,raw_full' is invalid"),
    ):
      bad = config_files.experiment_config("fidelity", "tiny")
      bad[field] = value
      with self.assertRaisesRegex(train_config.ConfigError, re.escape(message)):
        reproduction.validate_config(bad)

  def test_overrides_train_one_run_to_the_last_checkpoint(self):
    network = dict(depth=2, width=512, train_subset=5000, max_steps=8000, eval_every=400)
    out = fidelity.overrides(network, dict(standardize=True, full_training_set=True),
                             [1, 2, 5, 10], "mnist")
    self.assertEqual((out["max_steps"], out["snapshot_steps"], out["train_subset"],
                      out["standardize"], out["eval_every"]),
                     (80000, "8000,16000,40000,80000", 0, True, 8000))

  def test_train_loss_panel_stays_logarithmic_with_a_zero_loss(self):
    rows = [dict(setting=s, budget_multiple=m, train_loss_trajectories=loss,
                 density_same_class=1.0, density_random=2.0, density_different_class=2.0)
            for s, losses in (("raw_subset", (4e-7, 3e-10)), ("standardized_subset", (7e-7, 0.0)))
            for m, loss in zip((1, 10), losses)]
    frame = pd.DataFrame(rows)
    for column, *_ in fidelity.PANELS:
      if column not in frame:
        frame[column] = 1.0
    for feature in fidelity.MATCHES:
      frame[f"matches_{feature}"] = False
    saved = {}
    with mock.patch.object(fidelity.figures, "save",
                           lambda fig, path: saved.setdefault("fig", fig)):
      fidelity.draw(frame, "unused", "mnist", "tiny")
    loss_axis = saved["fig"].axes[[c for c, *_ in fidelity.PANELS].index(
        "train_loss_trajectories")]
    self.assertEqual(loss_axis.get_yscale(), "log")
    drawn = np.concatenate([line.get_ydata() for line in loss_axis.get_lines()])
    self.assertIn(1e-11, drawn)  # the zero, at its floor

  def test_matches(self):
    row = dict(dip_ratio_high=0.9, same_class_lowest=True, disc_density_ratio_low=1.2,
               anchors_below_share_low=0.6, jacobian_anchors_raw_pixels=3e-3,
               jacobian_random_raw_pixels=1.5e4, density_random=150.0,
               density_same_class=40.0, density_different_at_anchors=70.0,
               density_different_between=170.0)
    self.assertTrue(all(fidelity.matches(row).values()))
    worse = dict(row, dip_ratio_high=1.01, jacobian_anchors_raw_pixels=2e-6,
                 jacobian_random_raw_pixels=math.nan, density_same_class=101.0)
    self.assertEqual({k for k, v in fidelity.matches(worse).items() if not v},
                     {"dip_at_anchors", "jacobian_anchors", "jacobian_random",
                      "density_values"})


if __name__ == "__main__":
  tf.test.main()
