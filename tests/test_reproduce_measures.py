"""bin/reproduce --experiment=measures at the tiny preset, end to end (surveys trained, the
battery computed and cached, scores, figure, docs export, HParams export)."""

import json
import pathlib
import tempfile

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import run_bin
from sensitivity_tf import measures


@pytest.mark.slow
class MeasuresExperimentTest(tf.test.TestCase):

  def test_tiny_preset_end_to_end(self):
    with tempfile.TemporaryDirectory() as d:
      root, docs, tb = pathlib.Path(d, "ws"), pathlib.Path(d, "docs"), pathlib.Path(d, "tb")
      proc = run_bin("reproduce", "--experiment=measures", "--preset=tiny", "--noprogress",
                     f"--results_dir={root}", f"--docs_dir={docs}", f"--tensorboard_dir={tb}",
                     timeout=1500)
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      ranking = pd.read_csv(root / "measures" / "ranking.csv")
      networks = pd.read_csv(root / "measures" / "networks.csv")
      populations = set(ranking.population)
      self.assertEqual(populations, {"random survey", "grid", "factor pairs"})
      for population in populations:
        self.assertCountEqual(ranking[ranking.population == population].measure,
                              measures.MEASURES)
      grid = ranking[ranking.population == "grid"]
      self.assertTrue(grid.psi.notna().any() and grid.cmi.notna().any())
      self.assertTrue(ranking[ranking.population == "factor pairs"].robust_sign_error.notna()
                      .any())
      # both times per network, and the battery's ‖J‖ and transitions are the survey's
      self.assertTrue((networks.battery_secs > 0).all() and (networks.train_wall_secs > 0).all())
      tables = {}
      for table in root.glob("*/studies/*/table"):
        tables.update({r.trial_key: r for r in pd.read_parquet(table).itertuples()})
      for row in networks.itertuples():
        survey = tables[row.trial_key]
        self.assertAllClose(row.jacobian_norm, survey.jacobian_test_mean, rtol=1e-6)
        self.assertAllClose(row.transitions, survey.test_point_transitions_mean)
      self.assertTrue((docs / "measures" / "ranking.csv").is_file())
      self.assertTrue((docs / "measures.png").is_file())
      self.assertTrue(list(tb.glob("fashion_mnist/grid-*/*/events.out.tfevents.*")))
      # a second run reuses every battery: no record rewritten
      records = sorted(root.glob("**/measures/battery.json"))
      self.assertLen(records, len(networks))
      stamps = [p.stat().st_mtime_ns for p in records]
      again = run_bin("reproduce", "--experiment=measures", "--preset=tiny", "--noprogress",
                      f"--results_dir={root}", timeout=600)
      self.assertEqual(again.returncode, 0, again.stderr[-3000:])
      self.assertEqual([p.stat().st_mtime_ns for p in records], stamps)
      self.assertTrue(all(json.loads(p.read_text())["settings"]["mc_draws"] == 3
                          for p in records))
      self.assertTrue(np.isfinite(networks.jacobian_norm).all())

  def test_dry_run_plans_the_surveys_and_computes_nothing(self):
    with tempfile.TemporaryDirectory() as d:
      proc = run_bin("reproduce", "--experiment=measures", "--preset=tiny",
                     f"--results_dir={d}", "--dry_run")
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
      self.assertIn("study default on fashion_mnist", proc.stdout)
      self.assertEqual(list(pathlib.Path(d).iterdir()), [])
