"""The agreement scores on small examples computed by hand."""

import math

import numpy as np
import pandas as pd
import tensorflow as tf

from sensitivity_tf.measures import agreement
from sensitivity_tf.reproduce import statistics


class AgreementTest(tf.test.TestCase):

  def test_kendall_by_hand(self):
    # 6 pairs: only (2, 3) is discordant, so τ = (5 − 1)/6.
    est = agreement.kendall([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.4], num_bootstrap=50)
    self.assertAllClose(est.value, 4 / 6)
    self.assertEqual(est.n, 4)
    nan_dropped = agreement.kendall([1, 2, 3, 4, np.nan], [0.1, 0.3, 0.2, 0.4, 0.9], 50)
    self.assertAllClose(nan_dropped.value, 4 / 6)
    self.assertEqual(nan_dropped.n, 4)

  def test_psi_by_hand_with_an_interval_over_settings(self):
    # a 2 × 2 grid; at a = 0 the measure and gap agree along b, at a = 1 they disagree:
    # ψ_b = (1 + (−1))/2 = 0; along a both settings of b agree: ψ_a = 1; Ψ = 1/2.
    frame = pd.DataFrame(dict(a=[0, 0, 1, 1], b=[0, 1, 0, 1], m=[1.0, 2.0, 4.0, 3.0],
                              generalization_gap=[0.1, 0.2, 0.3, 0.35]))
    est, per = agreement.psi(frame, ["a", "b"], "m", num_bootstrap=200)
    self.assertAllClose(per, dict(a=1.0, b=0.0))
    self.assertAllClose(est.value, 0.5)
    self.assertAllClose(est.value, statistics.granulated_kendall(frame, ["a", "b"], "m")["psi"])
    # resampling the two settings behind ψ_b gives ψ_b in {−1, 0, 1}: Ψ in {0, 1/2, 1}
    self.assertBetween(est.low, 0.0, 0.5)
    self.assertBetween(est.high, 0.5, 1.0)
    with self.assertRaises(statistics.IncompleteGridError):
      agreement.psi(frame.iloc[:3], ["a", "b"], "m")

  def test_conditional_mutual_information_by_hand(self):
    """Four networks, factor A = (0, 0, 1, 1), gaps 0.1 … 0.4, measure (1, 2, 4, 3).

    Unconditioned (S = ∅): of the 12 ordered pairs, 10 agree in sign ((+,+) 5, (−,−) 5)
    and 2 disagree ((+,−) 1, (−,+) 1); H(V_g) = H(V_μ) = 1 bit, so
    I = 2 + (10/12) log2(5/12) + (2/12) log2(1/12) and Î = I / 1.
    S = {A}: the slices u = (0, 0) and (1, 1) hold two pairs each, in which V_μ is a
    function of V_g (the same sign in (0, 0), the opposite in (1, 1): mutual information
    does not see the direction), so I = H = 1 bit there; in u = (0, 1) and (1, 0) the gap's
    sign is constant (H = 0, I = 0). With p(u) = 2/12, 2/12, 4/12, 4/12: Î = (4/12)/(4/12)."""
    frame = pd.DataFrame(dict(A=[0, 0, 1, 1], m=[1.0, 2.0, 4.0, 3.0],
                              generalization_gap=[0.1, 0.2, 0.3, 0.4]))
    unconditioned = 2 + 10 / 12 * math.log2(5 / 12) + 2 / 12 * math.log2(1 / 12)
    self.assertAllClose(agreement.cmi(frame, ["A"], "m", size=0)[0], unconditioned)
    value, where = agreement.cmi(frame, ["A"], "m", size=1)
    self.assertAllClose(value, 1.0)
    self.assertEqual(where, ("A",))
    # The minimum over conditioning sets. B = (0, 1, 0, 1): slices (0, 0) and (1, 1) hold
    # {(1,3), (3,1)} and {(2,4), (4,2)}, agreeing: I = H = 1 bit each. Slice (0, 1) holds
    # (1,2), (1,4), (3,2), (3,4): V_g = −, −, +, − and V_μ = −, −, +, +, so
    # H(V_g) = h(1/4), H(V_μ) = 1, H(joint) = 1.5 and I = h(1/4) − 0.5; (1, 0) likewise.
    frame["B"] = [0, 1, 0, 1]
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    b_value = (4 / 12 + 8 / 12 * (h - 0.5)) / (4 / 12 + 8 / 12 * h)
    self.assertAllClose(agreement.cmi(frame, ["B"], "m", size=1)[0], b_value)
    both, where = agreement.cmi(frame, ["A", "B"], "m", size=1)
    self.assertAllClose(both, b_value)  # < 1 = Î(A)
    self.assertEqual(where, ("B",))
    est, _ = agreement.cmi_estimate(frame, ["A"], "m", size=1, num_bootstrap=100)
    self.assertAllClose(est.value, 1.0)
    self.assertEqual(est.n, 4)

  def test_cmi_of_a_measure_equal_to_the_gap_is_one(self):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(dict(a=np.repeat([0, 1, 2], 4), b=np.tile([0, 1], 6),
                              generalization_gap=rng.uniform(size=12)))
    frame["m"] = 3 * frame.generalization_gap + 1
    frame["noise"] = rng.uniform(size=12)
    self.assertAllClose(agreement.cmi(frame, ["a", "b"], "m", size=1)[0], 1.0)
    self.assertLess(agreement.cmi(frame, ["a", "b"], "noise", size=1)[0], 0.5)

  def test_hoeffding_weight_by_hand(self):
    # Δg = 0.02, n = 10,000: h = (1 − 2 e^{−2})², weight h − 1/2
    self.assertAllClose(agreement.hoeffding_weight(0.02, 10000), (1 - 2 * math.exp(-2)) ** 2
                        - 0.5)
    self.assertAllClose(agreement.hoeffding_weight(0.001, 10000), 0.0)  # within noise

  def test_sign_errors_by_hand(self):
    # env A: one pair agreeing (e = 0), one disagreeing (e = 1); env B: agreeing (e = 0);
    # a fourth pair whose gaps differ by 0.001 weighs 0. Large Δg: each weight ≈ 1/2.
    pairs = pd.DataFrame(dict(environment=["A", "A", "B", "B"],
                              measure_bad=[2.0, 1.0, 5.0, 1.0], measure_good=[1.0, 2.0, 4.0, 2.0],
                              gap_bad=[0.5, 0.5, 0.4, 0.301], gap_good=[0.2, 0.2, 0.1, 0.3]))
    got = agreement.sign_errors(pairs.measure_bad, pairs.measure_good, pairs.gap_bad,
                                pairs.gap_good, pairs.environment, 10000)
    self.assertAllClose(got["per_environment"], dict(A=0.5, B=0.0))
    self.assertAllClose(got["robust"], 0.5)
    self.assertAllClose(got["mean"], 1 / 3)
    self.assertEqual(got["weighted_pairs"], 3)
    est = agreement.sign_error_estimates(pairs, 10000, num_bootstrap=200)
    self.assertAllClose(est["robust"].value, 0.5)
    self.assertBetween(est["robust"].low, 0.0, 0.5)
    self.assertBetween(est["robust"].high, 0.5, 1.0)
    # a tie in the measure is half an error
    tie = agreement.sign_errors([1.0], [1.0], [0.5], [0.1], ["A"], 10000)
    self.assertAllClose(tie["robust"], 0.5)
