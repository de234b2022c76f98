"""The claims' statistics and verdict rules, on synthetic tables with a known answer."""

import itertools
import math

import numpy as np
import pandas as pd
import tensorflow as tf
from absl.testing import parameterized
from scipy import stats as scipy_stats

from sensitivity_tf.reproduce import claims, statistics
from sensitivity_tf.reproduce.experiments import (capacity, correlation, factors, points,
                                                  regions, trajectories)


class StatisticsTest(parameterized.TestCase, tf.test.TestCase):

  def test_planted_correlation_excludes_zero_shuffled_straddles(self):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = x + 0.5 * rng.normal(size=60)
    planted = statistics.correlations(x, y)
    shuffled = statistics.correlations(x, rng.permutation(y))
    for name in ("pearson", "spearman", "kendall"):
      self.assertGreater(planted[name].low, 0.3)
      self.assertLess(shuffled[name].low, 0)
      self.assertGreater(shuffled[name].high, 0)
    self.assertAllClose(planted["spearman"].value, scipy_stats.spearmanr(x, y).statistic)
    self.assertAllClose(planted["kendall"].value, scipy_stats.kendalltau(x, y).statistic)
    again = statistics.correlations(x, y)
    self.assertEqual(again["pearson"].low, planted["pearson"].low)  # seeded

  def test_wilson_interval(self):
    est = statistics.binomial_interval(0, 10)
    self.assertEqual(est.value, 0.0)
    self.assertAllClose([est.low, est.high], [0.0, 0.2775], atol=1e-4)
    est = statistics.binomial_interval(15, 20)
    self.assertAllClose([est.low, est.high], [0.5313, 0.8881], atol=1e-4)

  def test_roc_auc_equals_pair_counting(self):
    rng = np.random.default_rng(1)
    scores = np.round(rng.normal(size=80), 1)  # with ties
    positive = rng.random(80) < 0.3
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0)
             for a in scores[positive] for b in scores[~positive]]
    self.assertAllClose(statistics.roc_auc(scores, positive), np.mean(pairs))
    self.assertTrue(math.isnan(statistics.roc_auc(scores, np.zeros(80, bool))))

  def test_two_sample_intervals(self):
    rng = np.random.default_rng(2)
    a, b = rng.normal(3, 1, 40), rng.normal(1, 1, 40)
    diff = statistics.two_sample_interval(statistics.mean_difference, a, b)
    self.assertAllClose(diff.value, a.mean() - b.mean())
    self.assertGreater(diff.low, 1.0)
    ratio = statistics.two_sample_interval(statistics.log10_mean_ratio, [100.0] * 5,
                                           [0.1] * 5)
    self.assertAllClose([ratio.value, ratio.low, ratio.high], [3.0, 3.0, 3.0])


class GranulatedKendallTest(tf.test.TestCase):

  def grid(self):
    rows = []
    for a, b in itertools.product([0, 1, 2], [0, 1]):
      # measure increases with a and b; gap increases with a when b = 0, decreases when 1.
      rows.append(dict(a=a, b=b, measure=a + 10 * b,
                       generalization_gap=(a if b == 0 else -a) + 5 * b))
    return pd.DataFrame(rows)

  def test_against_hand_computation(self):
    # ψ_a: τ = +1 at b = 0 and −1 at b = 1 -> 0. ψ_b: at each a, (m, g) goes from (a, a)
    # to (a + 10, 5 − a), both increasing for a < 2.5 -> τ = +1 -> 1. Ψ = 0.5.
    out = statistics.granulated_kendall(self.grid(), ["a", "b"], "measure")
    self.assertAllClose([out["a"], out["b"], out["psi"]], [0.0, 1.0, 0.5])

  def test_seeds_in_a_cell_are_averaged(self):
    frame = self.grid()
    noisy = pd.concat([frame.assign(measure=frame.measure + d) for d in (-0.1, 0.1)])
    out = statistics.granulated_kendall(noisy, ["a", "b"], "measure")
    self.assertAllClose(out["psi"], 0.5)

  def test_incomplete_grid_is_refused(self):
    frame = self.grid().iloc[1:]
    with self.assertRaisesRegex(statistics.IncompleteGridError,
                                r"not a complete grid over \['a', 'b'\]: 1 of 6 cells missing"):
      statistics.granulated_kendall(frame, ["a", "b"], "measure")


def survey_frame(n, planted, seed=0):
  rng = np.random.default_rng(seed)
  log_j = rng.normal(size=n)
  gap = 0.1 * log_j + 0.03 * rng.normal(size=n) if planted else rng.normal(size=n)
  return pd.DataFrame(dict(
      jacobian_test_mean=10.0 ** log_j, generalization_gap=gap,
      test_point_transitions_mean=rng.normal(100, 10, n), num_weights=rng.integers(1e4, 1e6, n),
      train_loss=10.0 ** rng.normal(-4, 1, n), random_label_fraction=np.zeros(n)))


class VerdictTest(parameterized.TestCase, tf.test.TestCase):

  def test_correlation_planted_shuffled_and_small(self):
    planted, _, _ = correlation.analyze_dataset("d", survey_frame(40, True), 500, 0)
    shuffled, _, _ = correlation.analyze_dataset("d", survey_frame(40, False), 500, 0)
    small, _, _ = correlation.analyze_dataset("d", survey_frame(5, True), 500, 0)
    self.assertEqual(planted.verdict, claims.HOLDS)
    self.assertEqual(shuffled.verdict, claims.FAILS)
    self.assertEqual(small.verdict, claims.NO_DATA)

  def test_capacity_rules(self):
    frame = survey_frame(60, False)
    frame["generalization_gap"] = -np.log10(frame.num_weights) + 0.05 * np.random.default_rng(
        0).normal(size=60)  # bigger nets generalize better; loss unrelated
    c1, c2 = capacity.analyze_dataset("d", frame, 500, 0)
    self.assertEqual((c1.verdict, c2.verdict), (claims.HOLDS, claims.HOLDS))
    frame["generalization_gap"] = np.log10(frame.num_weights)  # bigger nets worse
    frame["train_loss"] = frame.num_weights.astype(float)      # loss predicts the gap
    c1, c2 = capacity.analyze_dataset("d", frame, 500, 0)
    self.assertEqual((c1.verdict, c2.verdict), (claims.FAILS, claims.FAILS))

  def pairs(self, n, share_bad_higher, seed=0):
    rng = np.random.default_rng(seed)
    good = rng.random((n, 3)) + 1.0
    higher = rng.random((n, 3)) < share_bad_higher  # each quantity on its own coin
    bad = np.where(higher, good * 1.5, good * 0.5)
    out = pd.DataFrame()
    for i, column in enumerate(factors.QUANTITIES.values()):
      out[f"{column}_bad"], out[f"{column}_good"] = bad[:, i], good[:, i]
    out["train_accuracy_bad"] = out["train_accuracy_good"] = 1.0
    return out

  def test_factor_rules(self):
    clear = {f: self.pairs(30, 1.0) for f in factors.VARIANTS}
    coin = {f: self.pairs(30, 0.5, seed=3) for f in factors.VARIANTS}
    few = {f: self.pairs(2, 1.0) for f in factors.VARIANTS}  # pooled: 8 < 10 pairs
    for data, expected in ((clear, claims.HOLDS), (coin, claims.FAILS), (few, claims.NO_DATA)):
      verdicts = {r.claim: r.verdict for r in factors.analyze_dataset("mnist", data)}
      self.assertEqual(set(verdicts), {"C8", "C9", "C10", "C11", "C13"})
      self.assertEqual(set(verdicts.values()), {expected}, verdicts)

  def trajectory_tables(self, random_norm, anchor_norm, different_extra):
    rows_j, rows_t = [], []
    rng = np.random.default_rng(0)
    for kind in ("random", "different_class", "same_class"):
      for e in range(6):
        phi = np.arange(12) * 2 * np.pi / 12
        anchor = np.isin(np.arange(12), [2, 6, 10])
        base = random_norm if kind == "random" else 1.0
        norms = np.where(anchor & (kind != "random"), anchor_norm, base)
        norms = norms * (different_extra if kind == "different_class" else 1.0)
        norms = norms * np.exp(0.1 * rng.normal(size=12))
        rows_j.append(pd.DataFrame(dict(kind=kind, ellipse=e, phi=phi, jacobian_norm=norms,
                                        log10_jacobian_norm=np.log10(norms), is_anchor=anchor)))
        loop = 100 + (50 if kind == "different_class" else 0) * different_extra + e
        rows_t.append(pd.DataFrame(dict(kind=kind, ellipse=e, bin=[0], phi_start=[0.0],
                                        phi_end=[2 * np.pi], transitions=[loop],
                                        density=[loop / 2 / np.pi], loop_transitions=[loop])))
    return pd.concat(rows_j), pd.concat(rows_t)

  def test_trajectory_rules(self):
    j, t = self.trajectory_tables(1e3, 1e-2, 2.0)
    c3, c4 = trajectories.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual((c3.verdict, c4.verdict), (claims.HOLDS, claims.HOLDS))
    j, t = self.trajectory_tables(1.0, 1.0, 1.0)
    c3, c4 = trajectories.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual((c3.verdict, c4.verdict), (claims.FAILS, claims.FAILS))

  def test_regions_rule(self):
    ones = np.ones((4, 3))
    low = dict(near_after=0.5 * ones, avg_after=np.ones(4), near_before=ones,
               avg_before=np.ones(4))
    self.assertEqual(regions.analyze_dataset("d", low).verdict, claims.HOLDS)
    high = dict(low, near_after=1.5 * ones)
    self.assertEqual(regions.analyze_dataset("d", high).verdict, claims.FAILS)
    already = dict(low, near_before=0.5 * ones)  # low before training too: not "not before"
    self.assertEqual(regions.analyze_dataset("d", already).verdict, claims.FAILS)

  def test_points_rule(self):
    rng = np.random.default_rng(0)
    good = pd.DataFrame(dict(spearman=rng.normal(0.5, 0.05, 12),
                             auc_jacobian=rng.normal(0.8, 0.02, 12),
                             auc_confidence=rng.normal(0.85, 0.02, 12),
                             spearman_jacobian_confidence=rng.normal(0.9, 0.02, 12)))
    self.assertEqual(points.analyze_dataset("d", good, 500, 0).verdict, claims.HOLDS)
    null = good.assign(spearman=rng.normal(0, 0.1, 12), auc_jacobian=rng.normal(0.5, 0.05, 12))
    self.assertEqual(points.analyze_dataset("d", null, 500, 0).verdict, claims.FAILS)
    self.assertEqual(points.analyze_dataset("d", good.iloc[:3], 500, 0).verdict, claims.NO_DATA)

  def test_report_lists_every_claim_with_rule(self):
    rows = [claims.ClaimResult("C6", "d", "stat", {}, 40, "networks", claims.HOLDS, "fig").as_dict(),
            claims.ClaimResult("C1", "d", "stat", {}, 3, "networks", claims.NO_DATA, "fig").as_dict()]
    text = claims.markdown(claims.read_results([]) + rows, "small")
    self.assertIn("| C6 | d | **holds** |", text)
    self.assertIn(claims.RULES["C6"], text)
    self.assertIn("## C1: " + claims.STATEMENTS["C1"], text)


if __name__ == "__main__":
  tf.test.main()
