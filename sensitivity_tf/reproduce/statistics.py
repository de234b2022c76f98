"""The statistics behind the claims: correlations with bootstrap intervals, binomial
intervals, ROC-AUC, and the granulated Kendall coefficient Ψ.

* `correlations`: Pearson, Spearman and Kendall's τ (τ-b) of two samples, each with a
  percentile bootstrap 95% interval (``num_bootstrap`` resamples of the pairs, seeded).
* `partial_spearman`: the partial rank correlation of x and y given z (the Pearson partial
  correlation of the ranks), with a bootstrap interval from `partial_correlation`: how x
  and y go together once what both owe to z (e.g. the number of weights) is taken out.
* `binomial_interval`: the Wilson score interval of a proportion.
* `paired_ratio`: the ratio of the means of paired observations, with a bootstrap interval
  over the pairs (the density dip at the anchors, denser regions after training).
* `mcnemar_exact`: the exact McNemar test of two classifiers judged on the same points: a
  two-sided exact binomial test on the discordant points (those exactly one of the two gets
  right), which under "equal accuracy" split 1/2 : 1/2.
* `roc_auc`: the probability that a random positive scores above a random negative (ties
  count one half), i.e. the Mann-Whitney statistic.
* `granulated_kendall` (Jiang et al. 2020, "Fantastic generalization measures and where to
  find them", §4): for each varied hyperparameter i, the mean over all settings of the
  *other* hyperparameters of Kendall's τ between a measure and the generalization gap over
  the values of i alone; Ψ is the mean of these ψ_i. It is only defined on a complete grid,
  and anything else is refused with `IncompleteGridError`. Several seeds in a cell are
  averaged first [ours].
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

CONFIDENCE = 0.95


@dataclasses.dataclass
class Estimate:
  value: float
  low: float
  high: float
  n: int

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)

  def text(self, digits: int = 2) -> str:
    """'0.75 [0.53, 0.89]'; with nothing to estimate from (n = 0), 'none (0 observations)'
    rather than 'nan [nan, nan]'."""
    if self.n == 0:
      return "none (0 observations)"
    return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _kendall(x, y) -> float:
  return float(scipy_stats.kendalltau(x, y).statistic)


def _spearman(x, y) -> float:
  return float(scipy_stats.spearmanr(x, y).statistic)


def _pearson(x, y) -> float:
  return float(np.corrcoef(x, y)[0, 1])


STATISTICS = {"pearson": _pearson, "spearman": _spearman, "kendall": _kendall}


def partial_spearman(x, y, z) -> float:
  """Partial rank correlation of ``x`` and ``y`` given ``z``: with r the Spearman
  correlations, (r_xy − r_xz r_yz) / sqrt((1 − r_xz²)(1 − r_yz²))."""
  r_xy, r_xz, r_yz = _spearman(x, y), _spearman(x, z), _spearman(y, z)
  denominator = math.sqrt(max((1 - r_xz ** 2) * (1 - r_yz ** 2), 0.0))
  return float((r_xy - r_xz * r_yz) / denominator) if denominator > 0 else math.nan


def bootstrap(fn, x, y, num_bootstrap: int = 1000, seed: int = 0,
              given: Sequence = ()) -> Estimate:
  """``fn(x, y, *given)`` and its percentile bootstrap 95% interval over resampled rows."""
  columns = [np.asarray(c, float) for c in (x, y, *given)]
  n = len(columns[0])
  value = fn(*columns) if n >= 3 else math.nan
  if n < 3:
    return Estimate(value, math.nan, math.nan, n)
  rng = np.random.default_rng(seed)
  draws = []
  for _ in range(num_bootstrap):
    idx = rng.integers(0, n, n)
    if any(np.ptp(c[idx]) == 0 for c in columns):
      continue  # a resample with a constant column has no correlation
    draws.append(fn(*(c[idx] for c in columns)))
  draws = [d for d in draws if math.isfinite(d)]
  alpha = (1 - CONFIDENCE) / 2
  low, high = np.quantile(draws, [alpha, 1 - alpha]) if draws else (math.nan, math.nan)
  return Estimate(float(value), float(low), float(high), n)


def correlations(x, y, num_bootstrap: int = 1000, seed: int = 0) -> Dict[str, Estimate]:
  """Pearson, Spearman and Kendall of (x, y), each with a bootstrap 95% interval."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  keep = np.isfinite(x) & np.isfinite(y)
  return {name: bootstrap(fn, x[keep], y[keep], num_bootstrap, seed)
          for name, fn in STATISTICS.items()}


def partial_correlation(x, y, z, num_bootstrap: int = 1000, seed: int = 0) -> Estimate:
  """`partial_spearman` of (x, y) given z, with a bootstrap 95% interval (rows with a
  non-finite value dropped)."""
  x, y, z = (np.asarray(c, float) for c in (x, y, z))
  keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
  return bootstrap(partial_spearman, x[keep], y[keep], num_bootstrap, seed, (z[keep],))


def binomial_interval(successes: int, n: int) -> Estimate:
  """Proportion successes/n with its Wilson score 95% interval."""
  if n == 0:
    return Estimate(math.nan, math.nan, math.nan, 0)
  z = scipy_stats.norm.ppf(1 - (1 - CONFIDENCE) / 2)
  p = successes / n
  center = (p + z * z / (2 * n)) / (1 + z * z / n)
  half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
  return Estimate(p, max(0.0, center - half), min(1.0, center + half), n)


def fewest_to_clear(line: float = 0.5) -> int:
  """The fewest observations n whose unanimous share (n of n) has its Wilson 95% interval
  (`binomial_interval`) entirely above ``line``: 4 for 1/2 (3 of 3 gives [0.44, 1.00]).
  A share of fewer can place its interval on neither side of 1/2, so a rule that asks it to
  can decide nothing."""
  if not 0 <= line < 1:
    raise ValueError(f"line={line!r}: must lie in [0, 1)")
  n = 1
  while binomial_interval(n, n).low <= line:
    n += 1
  return n


@dataclasses.dataclass(frozen=True)
class McNemar:
  """An exact McNemar test: ``only_a`` points only the first classifier gets right,
  ``only_b`` only the second, of ``points`` shared points; ``p_value`` two-sided."""
  only_a: int
  only_b: int
  points: int
  p_value: float

  @property
  def discordant(self) -> int:
    return self.only_a + self.only_b


def mcnemar_exact(correct_a, correct_b) -> McNemar:
  """The exact McNemar test of ``correct_a`` against ``correct_b`` (per-point correctness of
  two classifiers on the same points, in the same order): with b = ``only_a`` and c =
  ``only_b`` the discordant counts, p = min(1, 2 P[X <= min(b, c)]) for X ~ Binomial(b + c,
  1/2), and p = 1 when no point is discordant (identical predictions carry no evidence of a
  difference). ValueError if the two do not cover the same number of points."""
  a = np.asarray(correct_a, bool).ravel()
  b = np.asarray(correct_b, bool).ravel()
  if a.shape != b.shape:
    raise ValueError(f"McNemar needs the same points for both: {a.size} and {b.size} given")
  only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
  m = only_a + only_b
  p = 1.0 if m == 0 else min(1.0, 2.0 * float(scipy_stats.binom.cdf(min(only_a, only_b), m, 0.5)))
  return McNemar(only_a, only_b, int(a.size), p)


def roc_auc(scores, positive) -> float:
  """P(score of a random positive > score of a random negative), ties counted 1/2."""
  scores = np.asarray(scores, float)
  positive = np.asarray(positive, bool)
  n_pos, n_neg = positive.sum(), (~positive).sum()
  if n_pos == 0 or n_neg == 0:
    return math.nan
  ranks = scipy_stats.rankdata(scores)
  return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_interval(values, num_bootstrap: int = 1000, seed: int = 0) -> Estimate:
  """Mean of ``values`` with its percentile bootstrap 95% interval."""
  v = np.asarray(values, float)
  v = v[np.isfinite(v)]
  if len(v) < 2:
    return Estimate(float(v.mean()) if len(v) else math.nan, math.nan, math.nan, len(v))
  rng = np.random.default_rng(seed)
  means = v[rng.integers(0, len(v), (num_bootstrap, len(v)))].mean(axis=1)
  alpha = (1 - CONFIDENCE) / 2
  low, high = np.quantile(means, [alpha, 1 - alpha])
  return Estimate(float(v.mean()), float(low), float(high), len(v))


def two_sample_interval(fn, a, b, num_bootstrap: int = 1000, seed: int = 0) -> Estimate:
  """``fn(a, b)`` of two independent samples, with a percentile bootstrap 95% interval
  (each sample resampled on its own)."""
  a = np.asarray(a, float)
  b = np.asarray(b, float)
  a, b = a[np.isfinite(a)], b[np.isfinite(b)]
  n = min(len(a), len(b))
  if n < 2:
    return Estimate(fn(a, b) if n else math.nan, math.nan, math.nan, n)
  rng = np.random.default_rng(seed)
  draws = [fn(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
           for _ in range(num_bootstrap)]
  alpha = (1 - CONFIDENCE) / 2
  low, high = np.quantile(draws, [alpha, 1 - alpha])
  return Estimate(float(fn(a, b)), float(low), float(high), n)


def paired_ratio(a, b, num_bootstrap: int = 1000, seed: int = 0) -> Estimate:
  """mean(a) / mean(b) of paired observations (a_i, b_i) (e.g. two densities of one ellipse
  or one slice), with a percentile bootstrap 95% interval over the pairs, resampled together
  (pairs with a non-finite member dropped; resamples whose mean(b) is 0 left out)."""
  a, b = np.asarray(a, float), np.asarray(b, float)
  keep = np.isfinite(a) & np.isfinite(b)
  a, b = a[keep], b[keep]
  n = len(a)
  value = float(a.mean() / b.mean()) if n and b.mean() != 0 else math.nan
  if n < 2:
    return Estimate(value, math.nan, math.nan, n)
  idx = np.random.default_rng(seed).integers(0, n, (num_bootstrap, n))
  num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
  ratios = num[den != 0] / den[den != 0]
  alpha = (1 - CONFIDENCE) / 2
  low, high = np.quantile(ratios, [alpha, 1 - alpha]) if len(ratios) else (math.nan, math.nan)
  return Estimate(value, float(low), float(high), n)


def mean_difference(a, b) -> float:
  return float(np.mean(a) - np.mean(b))


def log10_mean_ratio(a, b) -> float:
  return float(np.log10(np.mean(a)) - np.log10(np.mean(b)))


class IncompleteGridError(ValueError):
  """Ψ was asked of results that do not form a complete grid (one-line message)."""


def granulated_kendall_groups(frame: pd.DataFrame, factors: Sequence[str], measure: str,
                              target: str = "generalization_gap") -> Dict[str, List[float]]:
  """For each factor i, the τ of ``measure`` and ``target`` over the values of i alone, one
  per setting of the other factors (0 where either is constant there): the terms whose means
  are ψ_i (`granulated_kendall`). ``frame``'s ``factors`` columns must form a complete grid
  (every combination of their observed values present); `IncompleteGridError` otherwise."""
  if not factors:
    raise IncompleteGridError("no varied hyperparameters: Ψ needs a grid")
  values = {f: sorted(frame[f].unique()) for f in factors}
  cells = frame.groupby(list(factors))[[measure, target]].mean()
  expected = list(itertools.product(*values.values()))
  missing = [c for c in expected if (c if len(factors) > 1 else c[0]) not in cells.index]
  if missing or any(len(v) < 2 for v in values.values()):
    raise IncompleteGridError(
        f"not a complete grid over {list(factors)}: {len(missing)} of {len(expected)} cells "
        "missing" + ("" if missing else ", or a factor has a single value")
        + "; Ψ is computed only on the factorial grid study (survey_grid)")
  cells = cells.reset_index()
  out = {}
  for f in factors:
    others = [g for g in factors if g != f]
    taus: List[float] = []
    groups = cells.groupby(others) if others else [((), cells)]
    for _, group in groups:
      if group[measure].nunique() > 1 and group[target].nunique() > 1:
        taus.append(_kendall(group[measure], group[target]))
      else:
        taus.append(0.0)  # no ordering to agree with: τ contributes nothing
    out[f] = taus
  return out


def granulated_kendall(frame: pd.DataFrame, factors: Sequence[str], measure: str,
                       target: str = "generalization_gap") -> Dict[str, float]:
  """ψ_i for each factor i and their mean Ψ (key ``"psi"``), Jiang et al. (2020).

  ``frame`` holds one row per trained network; its ``factors`` columns must form a
  complete grid (every combination of their observed values present).
  """
  out = {f: float(np.mean(taus))
         for f, taus in granulated_kendall_groups(frame, factors, measure, target).items()}
  out["psi"] = float(np.mean([out[f] for f in factors]))
  return out
