"""factors: for each factor, bad-variant vs good-variant scatter of gap, Jacobian norm and
transitions, identity line drawn (claims C8-C11, C13)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sensitivity_tf.data import registry
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce import studies
from matplotlib import ticker  # noqa: E402  (after figures, which picks the backend)

NAME = "factors"
CLAIMS = ("C8", "C9", "C10", "C11", "C13")
QUANTITIES = {"gap": "generalization_gap", "‖J‖": "jacobian_test_mean",
              "transitions": "test_point_transitions_mean"}
# factor -> (claim, quantities the claim is about, paper's words)
FACTOR_CLAIMS = {
    "random_labels": ("C8", ("‖J‖",), "random labels raise ‖J‖; gap ≈ 1 − 1/K; transitions "
                                      "near the diagonal"),
    "augmentation": ("C9", ("gap", "‖J‖", "transitions"), "augmentation lowers all three"),
    "full_batch": ("C10", ("‖J‖", "gap"), "full batch raises ‖J‖ and gap"),
    "nonlinearity": ("C11", ("‖J‖", "gap"), "ReLU lower ‖J‖ and gap than other "
                                            "nonlinearities"),
}
VARIANTS = {"random_labels": ("random labels", "true labels"),
            "augmentation": ("no augmentation", "augmentation"),
            "full_batch": ("full batch", "mini-batch"),
            "nonlinearity": ("other nonlinearity", "ReLU")}


def paired(rows: pd.DataFrame) -> pd.DataFrame:
  """One row per complete pair (both variants ok): columns <quantity>_bad, <quantity>_good."""
  ok = rows[rows.status == "ok"]
  bad = ok[ok.pair_role == "bad"].set_index("pair_id")
  good = ok[ok.pair_role == "good"].set_index("pair_id")
  both = bad.index.intersection(good.index)
  out = pd.DataFrame(index=both)
  for column in set(QUANTITIES.values()) | {"train_accuracy"}:
    out[f"{column}_bad"] = bad.loc[both, column]
    out[f"{column}_good"] = good.loc[both, column]
  return out.reset_index(drop=True)


def share_above(pairs: pd.DataFrame, column: str) -> statistics.Estimate:
  """Share of pairs where the bad variant's value is larger (above the diagonal)."""
  bad, good = pairs[f"{column}_bad"], pairs[f"{column}_good"]
  keep = np.isfinite(bad) & np.isfinite(good)
  return statistics.binomial_interval(int((bad[keep] > good[keep]).sum()), int(keep.sum()))


def analyze_dataset(dataset, by_factor):
  results = []
  for factor, pairs in by_factor.items():
    claim, about, paper = FACTOR_CLAIMS[factor]
    shares = {q: share_above(pairs, QUANTITIES[q]) for q in QUANTITIES}
    n = len(pairs)
    text = "; ".join(f"share of pairs with {VARIANTS[factor][0]} above: {q} {shares[q].text()}"
                     for q in about)
    values = {q: shares[q].as_dict() for q in QUANTITIES}
    if factor == "random_labels":
      k = registry.get_spec(dataset).num_classes
      gap = float(pairs.generalization_gap_bad.mean()) if n else float("nan")
      text += (f"; mean gap with random labels {gap:.3f} (1 − 1/K = {1 - 1 / k:.3f}); "
               f"transitions above: {shares['transitions'].text()}")
      values["random_label_gap_mean"] = gap
    condition = all(claims_lib.above(shares[q], 0.5) for q in about)
    results.append(claims_lib.ClaimResult(claim, dataset, text, values, n, "pairs",
                                          claims_lib.verdict(condition, n, "pairs"),
                                          f"{NAME}_{dataset}", paper))
  # C13: pooled over factors, same sign of Δgap and Δ‖J‖.
  pooled = pd.concat(list(by_factor.values()), ignore_index=True)
  d_gap = pooled.generalization_gap_bad - pooled.generalization_gap_good
  d_jac = pooled.jacobian_test_mean_bad - pooled.jacobian_test_mean_good
  keep = np.isfinite(d_gap) & np.isfinite(d_jac) & (d_gap != 0) & (d_jac != 0)
  share = statistics.binomial_interval(int((np.sign(d_gap[keep]) == np.sign(d_jac[keep])).sum()),
                                       int(keep.sum()))
  results.append(claims_lib.ClaimResult(
      "C13", dataset, f"share of pairs where Δgap and Δ‖J‖ agree in sign {share.text()}",
      share.as_dict(), share.n, "pairs",
      claims_lib.verdict(claims_lib.above(share, 0.5), share.n, "pairs"), f"{NAME}_{dataset}",
      "factors that hurt generalization raise sensitivity"))
  return results


def run(cfg, ws):
  results = []
  for dataset in cfg.datasets:
    by_factor = {f: paired(ws.study(studies.pairs(ws.preset, dataset, f)))
                 for f in studies.FACTORS}
    results.extend(analyze_dataset(dataset, by_factor))
    draw(by_factor, ws.figure(NAME, dataset), dataset, ws.preset)
  return results, []


def draw(by_factor, path, dataset, preset):
  fig, axes = figures.subplots(3, len(by_factor), width=3.2, height=3.0)
  for col, (factor, pairs) in enumerate(by_factor.items()):
    bad_name, good_name = VARIANTS[factor]
    for row, (label, column) in enumerate(QUANTITIES.items()):
      ax = axes[row, col]
      x, y = pairs[f"{column}_good"], pairs[f"{column}_bad"]
      ax.scatter(x, y, s=12)
      if label == "‖J‖" and len(pairs) and (x > 0).all() and (y > 0).all():
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
      if len(pairs):
        figures.identity_line(ax)
      ax.set_xlabel(f"{label}, {good_name}", fontsize=8)
      ax.set_ylabel(f"{label}, {bad_name}", fontsize=8)
      if row == 0:
        ax.set_title(f"{factor.replace('_', ' ')} ({len(pairs)} pairs)", fontsize=9)
  figures.paper_note(axes[0, 0], "most pairs above the diagonal")
  figures.title(fig, NAME, dataset, f"{sum(len(p) for p in by_factor.values())} pairs", preset)
  return figures.save(fig, path)
