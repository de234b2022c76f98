"""The claims' statistics and verdict rules, on synthetic tables with a known answer."""

import itertools
import math
from unittest import mock

import numpy as np
import pandas as pd
import tensorflow as tf
from absl.testing import parameterized
from scipy import stats as scipy_stats


from sensitivity_tf.commands import cli
from sensitivity_tf.commands import config_files
from sensitivity_tf.train import train_config
from sensitivity_tf.reproduce import claims
from sensitivity_tf.reproduce import gap_tests
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.reproduce.experiments import capacity
from sensitivity_tf.reproduce.experiments import correlation
from sensitivity_tf.reproduce.experiments import factors
from sensitivity_tf.reproduce.experiments import points
from sensitivity_tf.reproduce.experiments import region_maps
from sensitivity_tf.reproduce.experiments import trajectory_profiles


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

  def test_partial_rank_correlation_against_residuals_of_ranks(self):
    # Oracle: regress the pandas ranks of x and of y on those of z, correlate the residuals
    # with scipy's Pearson; x and y are both driven by z and, more weakly, by each other.
    rng = np.random.default_rng(4)
    z = rng.normal(size=200)
    x = z + 0.5 * rng.normal(size=200)
    y = z + 0.3 * x + 0.5 * rng.normal(size=200)
    ranks = pd.DataFrame(dict(x=x, y=y, z=z)).rank()
    def residual(column):
      slope, intercept = np.polyfit(ranks.z, ranks[column], 1)
      return ranks[column] - (slope * ranks.z + intercept)
    expected = scipy_stats.pearsonr(residual("x"), residual("y")).statistic
    self.assertAllClose(statistics.partial_spearman(x, y, z), expected, atol=1e-12)
    self.assertLess(statistics.partial_spearman(x, y, z),
                    scipy_stats.spearmanr(x, y).statistic - 0.2)  # z's share taken out
    est = statistics.partial_correlation(x, y, z, 300, 0)
    self.assertAllClose(est.value, expected, atol=1e-12)
    self.assertLess(est.low, est.value)
    self.assertGreater(est.high, est.value)
    # Given an unrelated z, the partial is the plain rank correlation.
    noise = rng.normal(size=200)
    self.assertAllClose(statistics.partial_spearman(x, y, noise),
                        scipy_stats.spearmanr(x, y).statistic, atol=0.03)

  def test_wilson_interval(self):
    est = statistics.binomial_interval(0, 10)
    self.assertEqual(est.value, 0.0)
    self.assertAllClose([est.low, est.high], [0.0, 0.2775], atol=1e-4)
    est = statistics.binomial_interval(15, 20)
    self.assertAllClose([est.low, est.high], [0.5313, 0.8881], atol=1e-4)
    self.assertEqual(est.text(), "0.75 [0.53, 0.89]")
    # No observations (a factor with no fair pair): no estimate, said in words, not as nan.
    empty = statistics.binomial_interval(0, 0)
    self.assertTrue(np.isnan(empty.value))
    self.assertEqual(empty.text(), "none (0 observations)")

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


def survey_frame(n, planted, seed=0, transitions_slope=0.0):
  """Networks at 100%: gap planted on log10 ‖J‖ (or not); transitions = 100 + slope × gap
  per hidden unit of a 2 × 64 network, plus noise."""
  rng = np.random.default_rng(seed)
  log_j = rng.normal(size=n)
  gap = 0.1 * log_j + 0.03 * rng.normal(size=n) if planted else rng.normal(size=n)
  transitions = 128 * (1 + transitions_slope * gap) + rng.normal(0, 1, n)
  return pd.DataFrame(dict(
      jacobian_test_mean=10.0 ** log_j, generalization_gap=gap,
      test_point_transitions_mean=transitions, num_weights=rng.integers(1e4, 1e6, n),
      depth=np.full(n, 2), width=np.full(n, 64),
      train_loss=10.0 ** rng.normal(-4, 1, n), random_label_fraction=np.zeros(n)))


class VerdictTest(parameterized.TestCase, tf.test.TestCase):

  def test_correlation_planted_shuffled_and_small(self):
    (planted, _), _ = correlation.analyze_dataset("d", survey_frame(40, True), 500, 0)
    (shuffled, _), _ = correlation.analyze_dataset("d", survey_frame(40, False), 500, 0)
    (small, _), _ = correlation.analyze_dataset("d", survey_frame(5, True), 500, 0)
    self.assertEqual(planted.verdict, claims.HOLDS)
    self.assertEqual(shuffled.verdict, claims.FAILS)
    self.assertEqual(small.verdict, claims.NO_DATA)

  def test_c6_is_also_judged_on_true_label_networks_alone(self):
    # ‖J‖ tracks the gap only through random-label networks (high ‖J‖, gap 0.9).
    rng = np.random.default_rng(5)
    frame = survey_frame(40, False, seed=5).assign(
        generalization_gap=rng.uniform(0.1, 0.2, 40), random_label_fraction=0.0)
    frame.loc[:9, "random_label_fraction"] = 1.0
    frame.loc[:9, "generalization_gap"] = 0.9
    frame.loc[:9, "jacobian_test_mean"] = 1e3 * (1 + rng.random(10))
    (everyone, true_only), _ = correlation.analyze_dataset("d", frame, 500, 0)
    self.assertEqual(everyone.verdict, claims.HOLDS)
    self.assertEqual(true_only.dataset, "d (true labels only)")
    self.assertEqual(true_only.n, 30)
    self.assertEqual(true_only.verdict, claims.FAILS)

  def c7(self, slopes):
    panels = {f"d{i}": correlation.analyze_dataset(f"d{i}", survey_frame(60, True, seed=i,
                                                                         transitions_slope=s),
                                                   300, 0)[1]
              for i, s in enumerate(slopes)}
    return {r.dataset.split("transitions ")[1]: r for r in correlation.c7_results(panels)}

  def test_new_c7_rule_fails_when_transitions_correlate_negatively(self):
    rows = self.c7([-3.0, -3.0, -3.0])
    for measure, row in rows.items():
      self.assertEqual(row.verdict, claims.FAILS, measure)
    # The old rule "held" on exactly this table: transitions below ‖J‖ everywhere.
    self.assertEqual(rows["per test point"].old_verdict, claims.HOLDS)
    self.assertIn("partial ρ with the gap given #weights", rows["per test point"].statistic)

  def test_new_c7_rule_holds_when_transitions_correlate_less_consistently(self):
    # Transitions correlate positively on one dataset and not on the others; ‖J‖ on all.
    rows = self.c7([0.5, 0.0, 0.0])
    self.assertEqual(rows["per test point"].verdict, claims.HOLDS)
    self.assertEqual(rows["per hidden unit"].verdict, claims.HOLDS)
    # ‖J‖ not more consistent: transitions as tight as ‖J‖ everywhere, and larger.
    self.assertEqual(self.c7([30.0, 30.0, 30.0])["per test point"].verdict, claims.FAILS)

  def test_transitions_per_hidden_unit(self):
    frame = pd.DataFrame(dict(test_point_transitions_mean=[100.0, 100.0, 5.0],
                              depth=[2, 4, 0], width=[50, 25, 64]))
    out = correlation.transitions_per_unit(frame)
    self.assertAllClose(out[:2], [1.0, 1.0])
    self.assertTrue(np.isnan(out[2]))  # no hidden units

  def test_capacity_rules(self):
    frame = survey_frame(60, False)
    frame["generalization_gap"] = -np.log10(frame.num_weights) + 0.05 * np.random.default_rng(
        0).normal(size=60)  # bigger nets generalize better; loss unrelated
    c1, c2, *_ = capacity.analyze_dataset("d", frame, 500, 0)
    self.assertEqual((c1.verdict, c2.verdict), (claims.HOLDS, claims.HOLDS))
    frame["generalization_gap"] = np.log10(frame.num_weights)  # bigger nets worse
    frame["train_loss"] = frame.num_weights.astype(float)      # loss predicts the gap
    c1, c2, *_ = capacity.analyze_dataset("d", frame, 500, 0)
    self.assertEqual((c1.verdict, c2.verdict), (claims.FAILS, claims.FAILS))

  def test_c1_and_c2_are_also_judged_on_true_label_networks_alone(self):
    # Random-label networks (the 30 smallest, gap 0.9) make C1 hold over everyone; among the
    # true-label networks alone the gap grows with size.
    rng = np.random.default_rng(3)
    size = np.sort(rng.integers(10 ** 4, 10 ** 6, 60))
    frame = pd.DataFrame(dict(num_weights=size, train_loss=10.0 ** rng.normal(-4, 1, 60),
                              random_label_fraction=np.r_[np.ones(30), np.zeros(30)]))
    frame["generalization_gap"] = np.where(frame.random_label_fraction > 0, 0.9,
                                           0.1 + 1e-7 * size)
    rows = {r.dataset + " " + r.claim: r for r in capacity.analyze_dataset("d", frame, 500, 0)}
    self.assertEqual(rows["d C1"].verdict, claims.HOLDS)
    self.assertEqual(rows["d (true labels only) C1"].verdict, claims.FAILS)
    self.assertEqual(rows["d (true labels only) C1"].n, 30)
    self.assertIn("d (true labels only) C2", rows)

  def pairs(self, n, share_bad_higher, seed=0):
    rng = np.random.default_rng(seed)
    good = rng.random((n, 3)) + 1.0
    higher = rng.random((n, 3)) < share_bad_higher  # each quantity on its own coin
    bad = np.where(higher, good * 1.5, good * 0.5)
    out = pd.DataFrame()
    for i, column in enumerate(factors.QUANTITIES.values()):
      out[f"{column}_bad"], out[f"{column}_good"] = bad[:, i], good[:, i]
    out["train_accuracy_bad"] = out["train_accuracy_good"] = 1.0
    out["reached_target_bad"] = out["reached_target_good"] = True
    out["nonlinearity_bad"], out["nonlinearity_good"] = "hard_tanh", "relu"
    out["gap_p_value"] = 0.001  # every gap difference significant (McNemar)
    return out

  def test_a_pair_whose_partner_did_not_fit_is_left_out_and_drawn_apart(self):
    clear = {f: self.pairs(30, 1.0) for f in factors.VARIANTS}
    # 20 pairs against the claim, all with a partner short of 100%: left out, it holds;
    # the old rule (all pairs: 30 of 50 above, Wilson interval from 0.46) did not.
    against = self.pairs(20, 0.0, seed=4)
    against["train_accuracy_bad"], against["reached_target_bad"] = 0.7, False
    against.loc[:3, ["train_accuracy_good", "reached_target_good"]] = 0.95, False  # both short
    mixed = {f: pd.concat([p, against], ignore_index=True) for f, p in clear.items()}
    rows = {r.claim: r for r in factors.analyze_dataset("mnist", mixed)}
    for claim in ("C8", "C9", "C10", "C11"):
      self.assertEqual(rows[claim].verdict, claims.HOLDS, claim)
      self.assertEqual(rows[claim].n, 30)
      self.assertIn("30 fair of 50 pairs; dropped 20 (only the bad partner short of 100%: 16, "
                    "only the good one: 0, both: 4)", rows[claim].statistic)
      # Before issue 9 (all pairs) it failed; C9-C11's old verdict is issue 9's rule, which
      # the noise-aware gap rule replaced, and holds here too.
      before_9 = rows[claim].values.get("verdict_before_issue_9", rows[claim].old_verdict)
      self.assertEqual(before_9, claims.FAILS, claim)
      self.assertEqual(rows[claim].old_verdict,
                       claims.FAILS if claim == "C8" else claims.HOLDS, claim)
    self.assertIn("80 pairs dropped", rows["C13"].statistic)  # 20 per factor
    captured = {}
    with mock.patch.object(factors.figures, "save", lambda fig, path: captured.update(fig=fig)):
      factors.draw(mixed, "unused", "mnist", "tiny")
    ax = captured["fig"].axes[0]
    fair_points, unfair_points = (c.get_offsets() for c in ax.collections[:2])
    self.assertLen(fair_points, 30)
    self.assertLen(unfair_points, 20)
    np.testing.assert_allclose(np.asarray(unfair_points)[:, 1],
                               against.generalization_gap_bad.values)
    self.assertIn("30 fair of 50 pairs", ax.get_title())

  def test_a_zero_jacobian_norm_keeps_the_factor_panel_logarithmic(self):
    pairs = self.pairs(12, 1.0)
    pairs.loc[0, "jacobian_test_mean_good"] = 0.0  # an underflowed ‖J‖ of an unfit network
    captured = {}
    with mock.patch.object(factors.figures, "save", lambda fig, path: captured.update(fig=fig)):
      factors.draw({"random_labels": pairs}, "unused", "mnist", "tiny")
    ax = captured["fig"].axes[list(factors.QUANTITIES).index("‖J‖")]
    self.assertEqual((ax.get_xscale(), ax.get_yscale()), ("log", "log"))
    norms = pd.concat([pairs.jacobian_test_mean_good, pairs.jacobian_test_mean_bad])
    floor = 10.0 ** (np.floor(np.log10(norms[norms > 0].min())) - 1)
    drawn_x = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    self.assertIn(floor, drawn_x)

  def test_ties_are_left_out_not_counted_against(self):
    pairs = self.pairs(20, 1.0)
    tied = self.pairs(20, 1.0, seed=6)
    for column in factors.QUANTITIES.values():
      tied[f"{column}_bad"] = tied[f"{column}_good"]  # e.g. 0 transitions in both
    both = pd.concat([pairs, tied], ignore_index=True)
    new = factors.share_above(both, "jacobian_test_mean")
    old = factors.share_above(both, "jacobian_test_mean", ties_against=True)
    self.assertEqual((new.value, new.n), (1.0, 20))
    self.assertEqual((old.value, old.n), (0.5, 40))
    rows = {r.claim: r for r in factors.analyze_dataset(
        "mnist", {f: both for f in factors.VARIANTS})}
    self.assertEqual(rows["C8"].verdict, claims.HOLDS)
    self.assertEqual(rows["C8"].old_verdict, claims.FAILS)
    self.assertIn("ties left out: ‖J‖ 20", rows["C8"].statistic)

  def test_factor_rules(self):
    clear = {f: self.pairs(30, 1.0) for f in factors.VARIANTS}
    coin = {f: self.pairs(30, 0.5, seed=3) for f in factors.VARIANTS}
    few = {f: self.pairs(2, 1.0) for f in factors.VARIANTS}  # pooled: 8 < 10 pairs
    for data, expected in ((clear, claims.HOLDS), (coin, claims.FAILS), (few, claims.NO_DATA)):
      verdicts = {r.claim: r.verdict for r in factors.analyze_dataset("mnist", data)}
      self.assertEqual(set(verdicts), {"C8", "C9", "C10", "C11", "C13"})
      self.assertEqual(set(verdicts.values()), {expected}, verdicts)

  def test_a_verdict_needs_the_presets_target_of_fair_pairs(self):
    # 19 clear fair pairs against a target of 20: no verdict, though the old rule (10) gives
    # one; at 20 the same pairs are judged. C13 needs the target in its pool.
    for n, expected in ((19, claims.NO_DATA), (20, claims.HOLDS)):
      rows = {r.claim: r for r in factors.analyze_dataset(
          "mnist", {"random_labels": self.pairs(n, 1.0)}, needed=20)}
      self.assertEqual((rows["C8"].verdict, rows["C13"].verdict), (expected, expected), n)
      self.assertEqual(rows["C8"].old_verdict, claims.HOLDS)
      self.assertEqual(rows["C8"].needed, 20)
    report = claims.markdown([rows["C8"].as_dict()], "small")
    self.assertIn("| 20 pairs (20 needed) |", report)
    # Below MIN_N the floor still applies, whatever the target.
    self.assertEqual(claims.needs("pairs", 2), claims.MIN_N["pairs"])

  def test_survey_claims_need_the_presets_target_of_networks_at_100(self):
    frame = survey_frame(60, False)
    frame["generalization_gap"] = -np.log10(frame.num_weights)  # C1 holds
    for n, expected in ((29, claims.NO_DATA), (30, claims.HOLDS)):
      c1, *_ = capacity.analyze_dataset("d", frame.iloc[:n], 500, 0, needed=30)
      self.assertEqual(c1.verdict, expected, n)
      (c6, _), _ = correlation.analyze_dataset("d", survey_frame(n, True), 500, 0, needed=30)
      self.assertEqual(c6.verdict, expected, n)
      self.assertEqual(c6.needed, 30)

  def test_a_subset_of_factors_is_judged_alone_and_c13_names_what_it_pools(self):
    rows = factors.analyze_dataset("mnist", {"nonlinearity": self.pairs(30, 1.0),
                                             "random_labels": self.pairs(30, 1.0, seed=2)})
    self.assertEqual([r.claim for r in rows], ["C11", "C8", "C13", "C13"])
    self.assertEqual(rows[-1].n, 60)
    self.assertIn("pooled over nonlinearity, random labels; only 2 of the 4 factors were run",
                  rows[-1].statistic)
    self.assertEqual(rows[-1].values["factors"], ["nonlinearity", "random_labels"])
    every = factors.analyze_dataset("mnist", {f: self.pairs(30, 1.0) for f in factors.VARIANTS})
    self.assertNotIn("only", every[-1].statistic)

  def test_chosen_factors_from_the_config(self):
    cfg = config_files.experiment_config("factors", "tiny")
    self.assertEqual(factors.chosen(cfg), list(factors.VARIANTS))  # the paper's order
    cfg.factors = " full_batch,random_labels"
    self.assertEqual(factors.chosen(cfg), ["full_batch", "random_labels"])
    for value in ("colour", "full_batch,full_batch", "", "random_labels,"):
      cfg.factors = value
      with self.assertRaisesRegex(train_config.ConfigError,
                                  f"factors={value!r} is invalid; allowed: distinct factors "
                                  "separated by commas, from augmentation, full_batch"):
        factors.chosen(cfg)
    # the measures experiment may read no factor study: an empty value names none there only
    measures_cfg = config_files.experiment_config("measures", "small")
    measures_cfg.factors = ""
    self.assertEqual(factors.chosen(measures_cfg, allow_none=True), [])
    reproduction.validate_config(measures_cfg)
    cfg.factors = ""
    with self.assertRaisesRegex(train_config.ConfigError, "factors='' is invalid"):
      reproduction.validate_config(cfg)

  def trajectory_tables(self, random_norm, anchor_norm, different_extra, different_density=300.0,
                        anchor_factor=0.4, bins=24):
    """Six ellipses per kind: ‖J‖ ``random_norm`` on random ellipses, ``anchor_norm`` at the
    class anchors (× ``different_extra`` on different-class ellipses); density 100 per radian
    (same class), 150 (random), ``different_density`` (different class) × ``anchor_factor``
    in the bins at the anchors (below 1 a dip, above 1 a peak)."""
    rows_j, rows_t = [], []
    rng = np.random.default_rng(0)
    at = trajectory_profiles.anchor_bins(bins)
    edges = 2 * np.pi * np.arange(bins + 1) / bins
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
        density = np.full(bins, {"random": 150.0, "same_class": 100.0,
                                 "different_class": different_density}[kind] + e)
        if kind == "different_class":
          density[at] *= anchor_factor
        counts = density * 2 * np.pi / bins
        rows_t.append(pd.DataFrame(dict(kind=kind, ellipse=e, bin=np.arange(bins),
                                        phi_start=edges[:-1], phi_end=edges[1:],
                                        transitions=counts, density=density,
                                        loop_transitions=counts.sum())))
    return pd.concat(rows_j), pd.concat(rows_t)

  def test_anchor_bins(self):
    # Anchors on bin edges (24 bins): the two bins each separates; inside a bin (16 bins):
    # that bin and its nearer neighbour.
    self.assertEqual(list(np.flatnonzero(trajectory_profiles.anchor_bins(24))),
                     [3, 4, 11, 12, 19, 20])
    self.assertEqual(list(np.flatnonzero(trajectory_profiles.anchor_bins(16))),
                     [2, 3, 7, 8, 12, 13])

  def test_trajectory_rules_each_part_of_c4_fails_alone(self):
    j, t = self.trajectory_tables(1e3, 1e-2, 2.0)
    c3, c4 = trajectory_profiles.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual((c3.verdict, c4.verdict), (claims.HOLDS, claims.HOLDS))
    self.assertIn("a dip, as in the paper", c4.statistic)
    self.assertAllClose(c4.values["dip_ratio"]["value"], 0.4, rtol=0.02)
    self.assertTrue(c4.values["same_class_lowest"])
    j, t = self.trajectory_tables(1.0, 1.0, 1.0)
    c3, c4 = trajectory_profiles.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual(c3.verdict, claims.FAILS)
    self.assertEqual(c4.verdict, claims.FAILS)  # ‖J‖ alone: no difference between kinds
    # A peak at the anchors: the old rule holds, the new one does not.
    j, t = self.trajectory_tables(1e3, 1e-2, 2.0, anchor_factor=2.0)
    _, c4 = trajectory_profiles.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual((c4.verdict, c4.old_verdict), (claims.FAILS, claims.HOLDS))
    self.assertIn("a peak where the paper shows a dip", c4.statistic)
    # Fewer transitions on different-class ellipses (100 × (18 + 6 × 0.4) / 24 < 100).
    j, t = self.trajectory_tables(1e3, 1e-2, 2.0, different_density=100.0)
    _, c4 = trajectory_profiles.analyze_dataset("mnist", j, t, 500, 0)
    self.assertEqual((c4.verdict, c4.old_verdict), (claims.FAILS, claims.FAILS))
    self.assertIn("same class is not the lowest density", c4.statistic)

  def test_per_ellipse_and_per_anchor_tables(self):
    j, t = self.trajectory_tables(1e3, 1e-2, 2.0)
    ellipses = trajectory_profiles.per_ellipse(j, t)
    self.assertLen(ellipses, 18)
    row = ellipses[(ellipses.kind == "different_class") & (ellipses.ellipse == 2)].iloc[0]
    self.assertAllClose([row.density_at_anchors, row.density_between_anchors, row.dip_ratio],
                        [302 * 0.4, 302, 0.4])
    self.assertAllClose(row.loop_transitions, 302 * (18 + 6 * 0.4) * 2 * np.pi / 24)
    anchors = trajectory_profiles.per_anchor(j)
    self.assertLen(anchors, 54)
    self.assertEqual(sorted(anchors.anchor.unique()), [0, 1, 2])
    self.assertAllClose(anchors.phi.unique(), [np.pi / 3, np.pi, 5 * np.pi / 3])

  def test_regions_rule_each_part_fails_alone(self):
    ones = np.ones((4, 3))
    good = dict(near_after=ones, avg_after=2 * np.ones(4), near_before=ones,
                avg_before=np.ones(4))
    result = region_maps.analyze_dataset("d", good, 500, 0)
    self.assertEqual(result.verdict, claims.HOLDS)
    self.assertIn("denser after training, as in the paper", result.statistic)
    high = dict(good, near_after=3 * ones)                 # anchors not in low-density zones
    self.assertEqual(region_maps.analyze_dataset("d", high).verdict, claims.FAILS)
    already = dict(good, near_before=0.5 * ones)           # low before training too
    self.assertEqual(region_maps.analyze_dataset("d", already).verdict, claims.FAILS)
    sparser = dict(good, avg_after=0.5 * np.ones(4), near_after=0.25 * ones)
    result = region_maps.analyze_dataset("d", sparser)
    self.assertEqual((result.verdict, result.old_verdict), (claims.FAILS, claims.HOLDS))
    self.assertIn("sparser after training, where the paper's get denser", result.statistic)
    slices = region_maps.per_slice(dict(sparser, before=np.zeros((4, 3, 3), int),
                                        after=np.arange(36).reshape(4, 3, 3)))
    self.assertEqual(list(slices.regions_after), [9, 9, 9, 9])
    self.assertEqual(list(slices.regions_before), [1, 1, 1, 1])
    self.assertLen(region_maps.per_anchor(sparser), 12)

  def test_points_rule_rests_on_what_jacobian_adds_beyond_confidence(self):
    rng = np.random.default_rng(0)
    good = pd.DataFrame(dict(spearman=rng.normal(0.5, 0.05, 12),
                             auc_jacobian=rng.normal(0.8, 0.02, 12),
                             auc_confidence=rng.normal(0.85, 0.02, 12),
                             spearman_jacobian_confidence=rng.normal(0.9, 0.02, 12),
                             partial_given_confidence=rng.normal(0.1, 0.02, 12)))
    self.assertEqual(points.analyze_dataset("d", good, 500, 0).verdict, claims.HOLDS)
    # ‖J‖ only restates confidence: raw ρ and AUC as good, nothing beyond p_max.
    restated = good.assign(partial_given_confidence=rng.normal(0, 0.05, 12))
    result = points.analyze_dataset("d", restated, 500, 0)
    self.assertEqual((result.verdict, result.old_verdict), (claims.FAILS, claims.HOLDS))
    null = good.assign(spearman=rng.normal(0, 0.1, 12), auc_jacobian=rng.normal(0.5, 0.05, 12))
    result = points.analyze_dataset("d", null, 500, 0)
    self.assertEqual((result.verdict, result.old_verdict), (claims.HOLDS, claims.FAILS))
    self.assertEqual(points.analyze_dataset("d", good.iloc[:3], 500, 0).verdict, claims.NO_DATA)

  def test_c13_verdict_leaves_random_label_pairs_out(self):
    # Random-label pairs all agree; the other factors' pairs agree by a coin.
    by_factor = {f: self.pairs(20, 0.5, seed=i) for i, f in enumerate(factors.VARIANTS)}
    by_factor["random_labels"] = self.pairs(60, 1.0)
    rows = [r for r in factors.analyze_dataset("mnist", by_factor) if r.claim == "C13"]
    verdict, reference = rows
    self.assertEqual(verdict.dataset, "mnist")
    self.assertEqual(verdict.values["factors"], ["augmentation", "full_batch", "nonlinearity"])
    self.assertEqual((verdict.verdict, verdict.old_verdict), (claims.FAILS, claims.FAILS))
    self.assertEqual(verdict.values["verdict_before_issue_20"], claims.HOLDS)
    self.assertEqual(reference.dataset, "mnist (random-label pairs included)")
    self.assertEqual(reference.verdict, claims.HOLDS)
    self.assertIn("agree by construction", reference.statistic)


  def test_c13_verdict_rests_on_pairs_whose_gap_difference_is_significant(self):
    # 24 fair non-random-label pairs agree in sign, but only within test-set noise; the 12
    # with a significant gap difference disagree: the noise carried the old rule.
    def c13(agreeing_noise, disagreeing_significant):
      agree = self.pairs(24, 1.0, seed=1)
      agree["gap_p_value"] = 0.5 if agreeing_noise else 0.001
      disagree = self.pairs(12, 1.0, seed=2)
      disagree["jacobian_test_mean_bad"] = disagree.jacobian_test_mean_good * 0.5
      disagree["gap_p_value"] = 0.001 if disagreeing_significant else 0.5
      both = pd.concat([agree, disagree], ignore_index=True)
      by_factor = {"nonlinearity": both, "random_labels": self.pairs(30, 1.0, seed=3)}
      return next(r for r in factors.analyze_dataset("mnist", by_factor, needed=20)
                  if r.claim == "C13" and r.dataset == "mnist")
    noisy = c13(True, True)
    self.assertEqual((noisy.verdict, noisy.old_verdict), (claims.FAILS, claims.HOLDS))
    self.assertEqual((noisy.n, noisy.values["n"], noisy.values["value"]), (36, 12, 0.0))
    self.assertIn("among the 12 whose gap difference is significant (exact McNemar, "
                  "p < 0.05)", noisy.statistic)
    self.assertEqual(noisy.values["all_fair"]["n"], 36)
    # The same pairs with the agreeing ones significant and the others noise: it holds.
    real = c13(False, False)
    self.assertEqual((real.verdict, real.values["n"], real.values["value"]),
                     (claims.HOLDS, 24, 1.0))
    # No pair testable (tables from before the tests): nothing significant, no verdict.
    untested = self.pairs(30, 1.0).drop(columns="gap_p_value")
    row = next(r for r in factors.analyze_dataset("mnist", {"nonlinearity": untested})
               if r.claim == "C13" and r.dataset == "mnist")
    self.assertEqual((row.verdict, row.old_verdict, row.values["n"]),
                     (claims.NO_DATA, claims.HOLDS, 0))
    self.assertEqual(row.values["verdict_without_significant_minimum"], claims.FAILS)
    # Three significant pairs, all agreeing: still too few to decide.
    three = self.pairs(30, 1.0)
    three["gap_p_value"] = [0.001] * 3 + [0.5] * 27
    row = next(r for r in factors.analyze_dataset("mnist", {"nonlinearity": three})
               if r.claim == "C13" and r.dataset == "mnist")
    self.assertEqual((row.verdict, row.values["n"], row.values["value"]),
                     (claims.NO_DATA, 3, 1.0))


class BorderlineTest(tf.test.TestCase):

  def estimate(self, low, high):
    return statistics.Estimate((low + high) / 2, low, high, 40)

  def test_a_holds_with_an_end_within_the_margin_is_borderline(self):
    lines = claims.Lines()  # the issue's example: C1's interval ends at 0.24, its line 0.25
    ok = lines.below(self.estimate(-0.3, 0.24), 0.25, "ρ")
    row = claims.judged("C1", "d", "s", {}, 40, "networks", ok, "f", lines=lines)
    self.assertEqual(row.verdict, claims.HOLDS)
    self.assertEqual(row.borderline, ["ρ: upper end 0.24 within 0.05 of 0.25"])
    lines = claims.Lines()
    ok = lines.below(self.estimate(-0.3, 0.19), 0.25, "ρ")
    self.assertEqual(claims.judged("C1", "d", "s", {}, 40, "networks", ok, "f",
                                   lines=lines).borderline, [])

  def test_a_does_not_hold_is_borderline_only_if_every_failing_part_is_close(self):
    lines = claims.Lines()   # a Wilson lower end of 0.48 against 1/2; the other part passes
    ok = all([lines.above(self.estimate(0.48, 0.7), 0.5, "share"),
              lines.above(self.estimate(0.3, 0.6), 0.0, "ρ")])
    row = claims.judged("C5", "d", "s", {}, 40, "anchors", ok, "f", lines=lines)
    self.assertEqual((row.verdict, len(row.borderline)), (claims.FAILS, 1))
    lines = claims.Lines()   # a close failure beside a clear one: the verdict stands
    ok = all([lines.above(self.estimate(0.48, 0.7), 0.5, "share"),
              lines.above(self.estimate(-0.6, 0.1), 0.0, "ρ")])
    row = claims.judged("C5", "d", "s", {}, 40, "anchors", ok, "f", lines=lines)
    self.assertEqual((row.verdict, row.borderline), (claims.FAILS, []))
    lines = claims.Lines()   # not enough data is never borderline
    ok = lines.above(self.estimate(0.51, 0.7), 0.5, "share")
    row = claims.judged("C5", "d", "s", {}, 2, "anchors", ok, "f", lines=lines)
    self.assertEqual((row.verdict, row.borderline), (claims.NO_DATA, []))

  def test_counts_are_judged_relative_to_their_scale(self):
    lines = claims.Lines()
    lines.above(self.estimate(3.0, 9.0), 0.0, "transitions", scale=100.0)  # 3 < 5% of 100
    lines.above(self.estimate(3.0, 9.0), 0.0, "log10 ‖J‖")                 # 3 decades away
    self.assertLen(lines.borderline(claims.HOLDS), 1)

  def test_a_verdict_that_changes_under_a_second_seed_is_borderline(self):
    rows = [dict(claim="C5", dataset="d", verdict=claims.HOLDS, borderline=[]),
            dict(claim="C5", dataset="e", verdict=claims.FAILS),
            dict(claim="C1", dataset="d", verdict=claims.HOLDS)]
    other = [dict(claim="C5", dataset="d", verdict=claims.FAILS),
             dict(claim="C5", dataset="e", verdict=claims.FAILS),
             dict(claim="C1", dataset="d", verdict=claims.NO_DATA)]
    marked = claims.mark_second_seed(rows, other, "seed1")
    self.assertEqual(marked[0]["borderline"],
                     ["under a second seed (seed1) the verdict is does not hold"])
    self.assertFalse(marked[1].get("borderline"))
    self.assertFalse(marked[2].get("borderline"))
    text = claims.markdown([dict(r, statistic="s", n=40, unit="anchors", figure="f")
                            for r in marked], "small")
    self.assertIn("| C5 | d | **holds** (borderline) |", text)
    self.assertIn("borderline: under a second seed (seed1)", text)
    self.assertIn("| C5 | e | **does not hold** |", text)


  def test_the_second_seed_is_kept_in_the_workspace_and_marks_every_report(self):
    import json
    import pathlib
    import tempfile
    from sensitivity_tf.reproduce import reproduction
    from sensitivity_tf.reproduce.workspace import Workspace
    row = dict(claim="C5", dataset="d", statistic="s", values={}, n=36, unit="anchors",
               figure="f", verdict=claims.HOLDS)
    with tempfile.TemporaryDirectory() as d:
      other = pathlib.Path(d, "seed1")
      other.mkdir()
      (other / "claims.json").write_text(json.dumps(dict(claims=[dict(row,
                                                                      verdict=claims.FAILS)])))
      ws = Workspace(pathlib.Path(d, "ws"), "small", progress=False, log=lambda *_: None)
      ws.path("claims", "regions.json").write_text(json.dumps([row]))
      with self.assertRaisesRegex(ValueError, "second_seed_dir=.* is invalid; allowed: a "
                                              "reproduction's results directory"):
        reproduction.record_second_seed(ws.root, pathlib.Path(d, "missing"))
      self.assertEqual(reproduction.record_second_seed(ws.root, other), "seed1")
      reproduction.write_report(ws)  # a later report, without the flag, still marks it
      report = ws.path("claims.md").read_text()
      self.assertIn("| C5 | d | **holds** (borderline) |", report)
      self.assertEqual(json.loads(ws.path("claims.json").read_text())["claims"][0]["borderline"],
                       ["under a second seed (seed1) the verdict is does not hold"])


class VerdictReportTest(tf.test.TestCase):

  def test_report_lists_every_claim_with_rule(self):
    rows = [claims.ClaimResult("C6", "d", "stat", {}, 40, "networks", claims.HOLDS, "fig").as_dict(),
            claims.ClaimResult("C1", "d", "stat", {}, 3, "networks", claims.NO_DATA, "fig").as_dict()]
    text = claims.markdown(claims.read_results([]) + rows, "small")
    self.assertIn("| C6 | d | **holds** |", text)
    self.assertIn(claims.RULES["C6"], text)
    self.assertIn("## C1: " + claims.STATEMENTS["C1"], text)


class McNemarTest(parameterized.TestCase, tf.test.TestCase):

  @staticmethod
  def exact_p(b, c):
    """Two-sided exact binomial p of b successes in b + c at 1/2, in exact fractions."""
    import fractions
    m = b + c
    if m == 0:
      return 1.0
    tail = sum(fractions.Fraction(math.comb(m, k), 2 ** m) for k in range(min(b, c) + 1))
    return float(min(fractions.Fraction(1), 2 * tail))

  @parameterized.parameters((0, 100, 0.8, 0.8), (1, 1000, 0.90, 0.93), (2, 60, 0.5, 0.5),
                            (3, 1000, 0.97, 0.975), (4, 7, 0.3, 0.9))
  def test_against_scipy_and_an_exact_computation(self, seed, n, acc_a, acc_b):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) < acc_a, rng.random(n) < acc_b
    test = statistics.mcnemar_exact(a, b)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    self.assertEqual((test.only_a, test.only_b, test.points), (only_a, only_b, n))
    expected = (scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
                if only_a + only_b else 1.0)
    self.assertAllClose(test.p_value, expected, rtol=1e-9)
    self.assertAllClose(test.p_value, self.exact_p(only_a, only_b), rtol=1e-9)
    self.assertEqual(statistics.mcnemar_exact(b, a).p_value, test.p_value)  # symmetric

  def test_identical_partners_and_known_values(self):
    same = np.random.default_rng(5).random(1000) < 0.9
    self.assertEqual(statistics.mcnemar_exact(same, same).p_value, 1.0)
    self.assertEqual(statistics.mcnemar_exact(same, same).discordant, 0)
    # 10 points only the first gets right, none the other way: p = 2 / 2^10.
    a = np.ones(50, bool)
    b = a.copy()
    b[:10] = False
    self.assertAllClose(statistics.mcnemar_exact(a, b).p_value, 2 / 1024, rtol=1e-12)
    # Equal discordant counts: no evidence either way.
    b[10:20] = True
    a[10:20] = False
    self.assertEqual(statistics.mcnemar_exact(a, b).p_value, 1.0)
    with self.assertRaisesRegex(ValueError, "same points for both: 50 and 49"):
      statistics.mcnemar_exact(a, b[:49])

  def test_gap_tests_read_each_partners_points(self):
    import tempfile
    import pathlib
    from sensitivity_tf.store import run_dir as run_dir_lib
    rng = np.random.default_rng(0)
    index = np.sort(rng.choice(10000, 300, replace=False))
    correct = {"bad": rng.random(300) < 0.85, "good": rng.random(300) < 0.95}
    correct["same"] = correct["good"]
    with tempfile.TemporaryDirectory() as d:
      for name, c in correct.items():
        folder = pathlib.Path(d, "runs", name, run_dir_lib.SENSITIVITY)
        folder.mkdir(parents=True)
        order = rng.permutation(300)  # stored in another order: matched by test index
        train = pd.DataFrame(dict(split="train", index=np.arange(300), correct=True))
        test = pd.DataFrame(dict(split="test", index=index[order], correct=c[order]))
        pd.concat([train, test]).to_parquet(folder / run_dir_lib.POINTS)
      pairs = pd.DataFrame(dict(run_dir_bad=["runs/bad", "runs/same", "runs/bad"],
                                run_dir_good=["runs/good", "runs/good", "runs/missing"]))
      tested = gap_tests.with_gap_tests(pairs, d)
    direct = statistics.mcnemar_exact(correct["bad"], correct["good"])
    self.assertEqual(tested.gap_test_points.iloc[0], 300)
    self.assertEqual((tested.gap_only_bad.iloc[0], tested.gap_only_good.iloc[0]),
                     (direct.only_a, direct.only_b))
    self.assertAllClose(tested.gap_p_value.iloc[0], direct.p_value)
    self.assertLess(tested.gap_p_value.iloc[0], gap_tests.ALPHA)  # 0.85 against 0.95
    self.assertEqual(tested.gap_p_value.iloc[1], 1.0)  # identical partners
    self.assertTrue(np.isnan(tested.gap_p_value.iloc[2]))  # a partner without evaluation


class FewestToClearTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(0.0, 0.25, 0.5, 0.6, 0.9)
  def test_against_the_closed_form(self, line):
    # A unanimous share n/n has Wilson lower end n / (n + z²), above `line` iff
    # n > line z² / (1 − line).
    z = scipy_stats.norm.ppf(0.975)
    expected = math.floor(line * z * z / (1 - line)) + 1
    self.assertEqual(statistics.fewest_to_clear(line), expected)
    n = statistics.fewest_to_clear(line)
    self.assertGreater(statistics.binomial_interval(n, n).low, line)
    if n > 1:
      self.assertLessEqual(statistics.binomial_interval(n - 1, n - 1).low, line)

  def test_one_half_needs_four_and_bad_lines_are_refused(self):
    self.assertEqual(statistics.fewest_to_clear(0.5), 4)
    with self.assertRaisesRegex(ValueError, r"line=1.0: must lie in \[0, 1\)"):
      statistics.fewest_to_clear(1.0)


class NoiseAwareGapRuleTest(tf.test.TestCase):

  def pairs(self, n_significant, significant_for, n_noise, noise_for, seed=0):
    """Fair full-batch pairs, ‖J‖ higher with full batch in all; the gap higher with full
    batch in the significant pairs iff ``significant_for``, in the noise pairs iff
    ``noise_for``."""
    rng = np.random.default_rng(seed)
    n = n_significant + n_noise
    good = rng.random((n, 3)) + 1.0
    out = pd.DataFrame()
    for column in factors.QUANTITIES.values():
      out[f"{column}_good"] = good[:, 0]
      out[f"{column}_bad"] = good[:, 0] * 1.5
    direction = np.r_[np.full(n_significant, significant_for), np.full(n_noise, noise_for)]
    out["generalization_gap_bad"] = np.where(direction, 0.2, 0.1)
    out["generalization_gap_good"] = 0.15
    out["gap_p_value"] = np.r_[np.full(n_significant, 0.001), np.full(n_noise, 0.6)]
    out["train_accuracy_bad"] = out["train_accuracy_good"] = 1.0
    out["reached_target_bad"] = out["reached_target_good"] = True
    out["nonlinearity_bad"], out["nonlinearity_good"] = "relu", "relu"
    return out

  def verdict(self, pairs):
    rows = factors.analyze_dataset("mnist", {"full_batch": pairs}, needed=20)
    return next(r for r in rows if r.claim == "C10")

  def test_significant_pairs_decide_the_gap_noise_pairs_do_not(self):
    # 10 significant pairs against the claim, 30 noise pairs for it: the old rule (all fair
    # pairs: 30 of 40) holds, the noise-aware one does not.
    against = self.verdict(self.pairs(10, False, 30, True))
    self.assertEqual(against.verdict, claims.FAILS)
    self.assertEqual(against.old_verdict, claims.HOLDS)
    self.assertEqual(against.values["significant_gap_pairs"], 10)
    self.assertEqual(against.values["gap_significant"]["value"], 0.0)
    self.assertIn("gap difference significant (exact McNemar, p < 0.05) in 10 of 40 fair "
                  "pairs (0 not testable); share of those with full batch above: gap 0.00",
                  against.statistic)
    # 15 significant pairs for it, 25 noise pairs against: the old rule fails, the new holds.
    for_it = self.verdict(self.pairs(15, True, 25, False))
    self.assertEqual((for_it.verdict, for_it.old_verdict), (claims.HOLDS, claims.FAILS))
    # Too few significant pairs for the share's interval to lie on either side of 1/2:
    # not enough data, whichever way they go (the rule without the minimum said "does not
    # hold", kept in values); from 4 unanimous ones on, the share decides.
    for direction in (True, False):
      few = self.verdict(self.pairs(3, direction, 37, True))
      self.assertEqual((few.verdict, few.old_verdict), (claims.NO_DATA, claims.HOLDS))
      self.assertEqual(few.values["verdict_without_significant_minimum"], claims.FAILS)
      self.assertIn("no verdict: the gap difference is significant in 3 fair pairs, fewer "
                    "than the 4 a share needs", few.statistic)
      self.assertEqual(few.borderline, [])
    self.assertEqual(self.verdict(self.pairs(4, True, 36, False)).verdict, claims.HOLDS)
    self.assertEqual(self.verdict(self.pairs(4, False, 36, True)).verdict, claims.FAILS)

  def test_few_significant_pairs_do_not_withhold_what_the_jacobian_share_decides(self):
    pairs = self.pairs(2, True, 38, True)
    pairs["jacobian_test_mean_bad"] = pairs.jacobian_test_mean_good * 0.5  # ‖J‖ against
    row = self.verdict(pairs)
    self.assertEqual(row.verdict, claims.FAILS)
    self.assertNotIn("verdict_without_significant_minimum", row.values)
    # Too few fair pairs stays what it was: not enough data, for that reason.
    short = self.verdict(self.pairs(2, True, 10, True))
    self.assertEqual(short.verdict, claims.NO_DATA)
    self.assertNotIn("no verdict", short.statistic)

  def test_fit_decisions_read_reached_target_and_rare_fits_are_reported(self):
    pairs = self.pairs(30, True, 0, True)
    # Train accuracy 1.0 but reached_target False (e.g. a run with a higher target): unfit.
    pairs.loc[:9, "reached_target_good"] = False
    pairs["max_steps_bad"] = pairs["max_steps_good"] = 3000
    row = self.verdict(pairs)
    self.assertEqual(row.n, 20)
    self.assertIn("networks at 100% by variant: full batch 30/30, mini-batch 20/30",
                  row.statistic)
    self.assertNotIn("almost never", row.statistic)
    pairs.loc[:26, "reached_target_good"] = False  # 3 of 30 fit: 10%
    row = self.verdict(pairs)
    self.assertIn("almost never fits under the budget of 3,000 steps: mini-batch (3/30, 10%)",
                  row.statistic)
    self.assertIn("at this fair-pair rate (3/30), 20 fair pairs would take about 200 pairs",
                  row.statistic)
    self.assertEqual(row.verdict, claims.NO_DATA)


if __name__ == "__main__":
  tf.test.main()
