"""How well a generalization measure agrees with the generalization gap over many networks:
four scores, each with a percentile bootstrap 95% interval (``num_bootstrap`` seeded
resamples; the resampling unit is named per score).

* **Kendall τ** (τ-b, Jiang et al. 2020 §4) of the measure and the gap over the networks
  (`sensitivity_tf.reproduce.statistics`; resampling networks).
* **Granulated Kendall Ψ** (Jiang et al. §4, `statistics.granulated_kendall`) over a complete
  grid of hyperparameters: ψ_i is the mean, over the settings of the other hyperparameters,
  of τ over the values of hyperparameter i alone, Ψ the mean of the ψ_i. Resampling
  **[ours]**: for each i, its settings of the other hyperparameters (a resample of a grid
  would no longer be a grid).
* **Conditional mutual information** (Jiang et al. §6, the score of the PGDL competition):
  over ordered pairs (a, b) of distinct networks, V_g = sign(g_a − g_b) and V_μ = sign(μ_a −
  μ_b) (a tie counts as −1, as in the PGDL scoring program), and U_S = (θ_S(a), θ_S(b)) the
  values of the hyperparameters in S of both networks. With the pairs' empirical
  distribution (logs base 2),
      I(V_μ; V_g | U_S) = Σ_u p(u) Σ_{v,w} p(v, w | u) log[p(v, w | u) / (p(v | u) p(w | u))],
      H(V_g | U_S) = −Σ_u p(u) Σ_w p(w | u) log p(w | u),
      Î(S) = I(V_μ; V_g | U_S) / H(V_g | U_S),
  and the score is K = min over the sets S of ``size`` hyperparameters of Î(S) (PGDL: size
  2; a set whose H is 0 gives no value and is skipped). **[ours]** the PGDL program also
  pairs each network with itself (as a (−, −) pair) and averages the slices u with equal
  weights; on a complete grid with one network per cell the two differ only by those
  self-pairs. Resampling networks (pairs of two copies of one network are left out).
* **Robust sign error** over coupled pairs (Dziugaite et al. 2020, "In search of robust
  measures of generalization"): a pair (bad, good) differs in one hyperparameter (a factor
  study's pair); its sign error is e = (1 − sign(Δμ) sign(Δg))/2 with Δ = bad − good (a tie
  gives 1/2); its weight is w = (h − ½)₊ with the Hoeffding weight
  h = (max(0, 1 − 2 exp(−2 n (|Δg|/2)²)))², n the number of test points behind each gap (the
  probability that the two gaps really differ; pairs whose gaps are within noise weigh 0).
  An environment's sign error is Σ w e / Σ w over its pairs; the robust sign error is the
  largest over environments, beside the weighted mean over all pairs. **[ours]** An
  environment is a factor (all pairs that differ in that hyperparameter): our pairs have
  one network per partner, where Dziugaite et al. average several seeds per coupled
  setting. Resampling pairs within each environment.
"""

from __future__ import annotations

import itertools
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce.statistics import Estimate

ALPHA = (1 - statistics.CONFIDENCE) / 2


def _interval(value: float, draws, n: int) -> Estimate:
  draws = [d for d in draws if math.isfinite(d)]
  if not draws:
    return Estimate(value, math.nan, math.nan, n)
  low, high = np.quantile(draws, [ALPHA, 1 - ALPHA])
  return Estimate(float(value), float(low), float(high), n)


# ----------------------------------------------------------------------------- Kendall τ
def kendall(measure, gap, num_bootstrap: int = 1000, seed: int = 0) -> Estimate:
  """τ-b of (measure, gap) over the networks with both finite, and its interval."""
  m, g = np.asarray(measure, float), np.asarray(gap, float)
  keep = np.isfinite(m) & np.isfinite(g)
  return statistics.bootstrap(statistics.STATISTICS["kendall"], m[keep], g[keep],
                              num_bootstrap, seed)


# ----------------------------------------------------------------------------- Ψ
def psi(frame: pd.DataFrame, factors: Sequence[str], measure: str,
        target: str = "generalization_gap", num_bootstrap: int = 1000,
        seed: int = 0) -> Tuple[Estimate, Dict[str, float]]:
  """Ψ with its interval, and ψ_i per factor; `statistics.IncompleteGridError` off a grid."""
  groups = statistics.granulated_kendall_groups(frame, factors, measure, target)
  value = float(np.mean([np.mean(t) for t in groups.values()]))
  rng = np.random.default_rng(seed)
  draws = [float(np.mean([np.mean(rng.choice(t, len(t))) for t in groups.values()]))
           for _ in range(num_bootstrap)]
  return (_interval(value, draws, len(frame)),
          {f: float(np.mean(t)) for f, t in groups.items()})


# ----------------------------------------------------------------------------- CMI
def _codes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
  """One integer per network for the joint values of ``columns``."""
  if not columns:
    return np.zeros(len(frame), np.int64)
  return frame.groupby(list(columns), sort=True, dropna=False).ngroup().to_numpy()


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
  """Entropy (bits) of each row of non-negative counts."""
  total = counts.sum(axis=-1, keepdims=True)
  p = np.divide(counts, total, out=np.zeros_like(counts, float), where=total > 0)
  with np.errstate(divide="ignore", invalid="ignore"):
    return -np.sum(np.where(p > 0, p * np.log2(p), 0.0), axis=-1)


def normalized_cmi(measure, gap, codes: np.ndarray,
                   network_ids: Optional[np.ndarray] = None) -> float:
  """Î = I(V_μ; V_g | U_S) / H(V_g | U_S) of the module docstring, over ordered pairs of
  networks whose ``network_ids`` differ (default: all distinct positions); ``codes`` gives
  each network's values of the hyperparameters in S as one integer. NaN when H is 0."""
  m, g, codes = np.asarray(measure, float), np.asarray(gap, float), np.asarray(codes)
  ids = np.arange(len(m)) if network_ids is None else np.asarray(network_ids)
  a, b = np.meshgrid(np.arange(len(m)), np.arange(len(m)), indexing="ij")
  keep = ids[a] != ids[b]
  a, b = a[keep], b[keep]
  v_g = (g[a] > g[b]).astype(np.int64)
  v_m = (m[a] > m[b]).astype(np.int64)
  width = int(codes.max(initial=0)) + 1
  slices, slice_of = np.unique(codes[a] * width + codes[b], return_inverse=True)
  table = np.zeros((len(slices), 2, 2))
  np.add.at(table, (slice_of, v_g, v_m), 1)
  n_u = table.sum(axis=(1, 2))
  p_u = n_u / n_u.sum()
  h_g = float(np.sum(p_u * _entropy_bits(table.sum(axis=2))))
  # I = H(V_g|u) + H(V_μ|u) − H(V_g, V_μ|u), slice by slice
  mi = (_entropy_bits(table.sum(axis=2)) + _entropy_bits(table.sum(axis=1))
        - _entropy_bits(table.reshape(len(slices), 4)))
  i_cond = float(np.sum(p_u * mi))
  return i_cond / h_g if h_g > 0 else math.nan


def cmi(frame: pd.DataFrame, factors: Sequence[str], measure: str, size: int = 2,
        target: str = "generalization_gap", network_ids=None) -> Tuple[float, Tuple[str, ...]]:
  """K = min over the sets S of ``size`` of ``factors`` of Î(S), and the minimising S."""
  best, where = math.nan, ()
  for chosen in itertools.combinations(factors, size):
    value = normalized_cmi(frame[measure], frame[target], _codes(frame, chosen), network_ids)
    if math.isfinite(value) and not value >= best:
      best, where = value, chosen
  return best, where


def cmi_estimate(frame: pd.DataFrame, factors: Sequence[str], measure: str, size: int = 2,
                 target: str = "generalization_gap", num_bootstrap: int = 1000,
                 seed: int = 0) -> Tuple[Estimate, Tuple[str, ...]]:
  """`cmi` with its interval (resampling networks; rows with a non-finite measure or gap
  are left out first)."""
  frame = frame[np.isfinite(frame[measure].astype(float))
                & np.isfinite(frame[target].astype(float))].reset_index(drop=True)
  value, where = cmi(frame, factors, measure, size, target)
  rng = np.random.default_rng(seed)
  draws = []
  for _ in range(num_bootstrap):
    idx = rng.integers(0, len(frame), len(frame))
    draws.append(cmi(frame.iloc[idx].reset_index(drop=True), factors, measure, size, target,
                     network_ids=idx)[0])
  return _interval(value, draws, len(frame)), where


# ----------------------------------------------------------------------------- sign error
def hoeffding_weight(delta_gap, n: int) -> np.ndarray:
  """(h − ½)₊ with h = (max(0, 1 − 2 exp(−2 n (|Δg|/2)²)))² (module docstring)."""
  d = np.abs(np.asarray(delta_gap, float))
  h = np.maximum(0.0, 1 - 2 * np.exp(-2 * n * (d / 2) ** 2)) ** 2
  return np.maximum(h - 0.5, 0.0)


def sign_errors(measure_bad, measure_good, gap_bad, gap_good, environment,
                n_test: int) -> Dict[str, object]:
  """Per-environment sign errors, their maximum (``robust``) and the weighted ``mean``."""
  e = (1 - np.sign(np.asarray(measure_bad, float) - np.asarray(measure_good, float))
       * np.sign(np.asarray(gap_bad, float) - np.asarray(gap_good, float))) / 2
  w = hoeffding_weight(np.asarray(gap_bad, float) - np.asarray(gap_good, float), n_test)
  keep = np.isfinite(e)
  e, w, env = e[keep], w[keep], np.asarray(environment)[keep]
  per = {}
  for name in dict.fromkeys(env):
    wi = w[env == name]
    if wi.sum() > 0:
      per[str(name)] = float(np.sum(wi * e[env == name]) / wi.sum())
  return dict(per_environment=per, robust=max(per.values()) if per else math.nan,
              mean=float(np.sum(w * e) / w.sum()) if w.sum() > 0 else math.nan,
              pairs=int(len(e)), weighted_pairs=int(np.sum(w > 0)))


def sign_error_estimates(pairs: pd.DataFrame, n_test: int, num_bootstrap: int = 1000,
                         seed: int = 0) -> Dict[str, object]:
  """`sign_errors` of a frame with columns ``measure_bad``, ``measure_good``, ``gap_bad``,
  ``gap_good``, ``environment``, with intervals for ``robust`` and ``mean`` (resampling
  pairs within each environment)."""
  def score(f):
    return sign_errors(f.measure_bad, f.measure_good, f.gap_bad, f.gap_good, f.environment,
                       n_test)
  point = score(pairs)
  rng = np.random.default_rng(seed)
  groups = [g for _, g in pairs.groupby("environment", sort=False)]
  robust, mean = [], []
  for _ in range(num_bootstrap):
    resampled = pd.concat([g.iloc[rng.integers(0, len(g), len(g))] for g in groups])
    s = score(resampled)
    robust.append(s["robust"])
    mean.append(s["mean"])
  n = point["pairs"]
  return dict(point, robust=_interval(point["robust"], robust, n),
              mean=_interval(point["mean"], mean, n))
