"""The pair tests of gap differences on the whole test set (`reproduce.gap_tests`), on real
networks trained on an MNIST subset and written to disk, checked against the test accuracy
the trainer recorded and an exact binomial computation."""

import json
import os

import numpy as np
import pandas as pd
import tensorflow as tf
from scipy import stats

from conftest import MNIST_NPZ
from sensitivity_tf.reproduce import gap_tests
from sensitivity_tf.reproduce.experiments import factors
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run


class WholeTestSetTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.study = tf.compat.v1.test.get_temp_dir() + "/study"
    cls.metrics = {}
    for name, width, seed in (("a", 8, 1), ("b", 16, 2)):
      cfg = train_config.default_config()
      cfg.update(dict(dataset="mnist", data_dir=str(MNIST_NPZ), depth=1, width=width,
                      train_subset=100, max_steps=30, eval_every=10, seed=seed))
      cls.metrics[name] = train_run.train(cfg, f"{cls.study}/runs/{name}", log=lambda m: None)

  def pair_row(self, **changes):
    row = dict(run_dir_bad="runs/a", run_dir_good="runs/b")
    for role, name in (("bad", "a"), ("good", "b")):
      m = self.metrics[name]
      row[f"train_accuracy_{role}"] = m["train_accuracy"]
      row[f"generalization_gap_{role}"] = m["generalization_gap"]
    row.update(changes)
    return row

  def test_correctness_is_the_trainers_test_accuracy_on_every_test_point(self):
    for name in ("a", "b"):
      correct = gap_tests.whole_test_correctness(f"{self.study}/runs/{name}")
      self.assertLen(correct, 10000)  # MNIST's published test set size
      self.assertAllClose(correct.mean(), self.metrics[name]["test_accuracy"], atol=1e-6)

  def test_pair_test_against_an_exact_binomial_computation(self):
    tested = gap_tests.with_whole_test_gap_tests(pd.DataFrame([self.pair_row()]), self.study)
    a = gap_tests.whole_test_correctness(f"{self.study}/runs/a").values
    b = gap_tests.whole_test_correctness(f"{self.study}/runs/b").values
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    row = tested.iloc[0]
    self.assertEqual((row.gap_whole_points, row.gap_whole_only_bad, row.gap_whole_only_good),
                     (10000, only_a, only_b))
    self.assertGreater(only_a + only_b, 0)  # two different networks
    expected = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    self.assertAllClose(row.gap_whole_p_value, expected, rtol=1e-9)
    # The test accuracy difference is what the discordant points say it is.
    self.assertAllClose((only_a - only_b) / 10000, self.metrics["a"]["test_accuracy"]
                        - self.metrics["b"]["test_accuracy"], atol=1e-6)

  def test_not_testable_when_the_table_disagrees_or_a_model_is_missing(self):
    rows = pd.DataFrame([
        self.pair_row(train_accuracy_bad=self.metrics["a"]["train_accuracy"] - 0.01),
        self.pair_row(run_dir_good="runs/missing"),
        self.pair_row()])
    tested = gap_tests.with_whole_test_gap_tests(rows, self.study)
    self.assertTrue(np.isnan(tested.gap_whole_p_value.iloc[0]))  # another accuracy recorded
    self.assertTrue(np.isnan(tested.gap_whole_p_value.iloc[1]))  # no saved model
    self.assertFalse(np.isnan(tested.gap_whole_p_value.iloc[2]))

  def test_cache_is_used_and_a_new_model_file_invalidates_it(self):
    run = f"{self.study}/runs/b"
    first = gap_tests.whole_test_correctness(run)
    cache = os.path.join(run, run_dir_lib.SENSITIVITY, gap_tests.TEST_CORRECT)
    self.assertTrue(os.path.isfile(cache))
    with open(cache) as f:
      saved = json.load(f)
    saved["correct"] = [1] * len(saved["correct"])  # a cache that says all correct
    with open(cache, "w") as f:
      json.dump(saved, f)
    self.assertEqual(gap_tests.whole_test_correctness(run).mean(), 1.0)  # read, not recomputed
    model = os.path.join(run, run_dir_lib.MODEL)
    os.utime(model, ns=(1, 1))  # another model file (its stamp changed): recomputed
    self.assertAllEqual(gap_tests.whole_test_correctness(run).values, first.values)

  def test_the_report_gives_the_whole_test_set_beside_the_verdict(self):
    pairs = pd.DataFrame([self.pair_row()] * 20)
    for column in factors.QUANTITIES.values():
      for role, scale in (("bad", 2.0), ("good", 1.0)):
        if column != "generalization_gap":
          pairs[f"{column}_{role}"] = scale
    pairs["reached_target_bad"] = pairs["reached_target_good"] = True
    pairs = gap_tests.with_whole_test_gap_tests(pairs, self.study)
    pairs["gap_p_value"] = 0.5  # nothing significant on the evaluated points
    row = next(r for r in factors.analyze_dataset("mnist", {"full_batch": pairs}, needed=20)
               if r.claim == "C10")
    significant = int((pairs.gap_whole_p_value < gap_tests.ALPHA).sum())
    self.assertIn(f"on all 10000 test points (reported, not judged): significant in "
                  f"{significant} of 20 fair pairs (0 not testable)", row.statistic)
    self.assertEqual(row.values["whole_test"]["significant_gap_pairs"], significant)
    # The verdict still rests on the evaluated points: none significant, not enough data.
    self.assertEqual(row.verdict, "not enough data")


if __name__ == "__main__":
  tf.test.main()
