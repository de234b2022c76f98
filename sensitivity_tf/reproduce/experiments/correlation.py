"""correlation: gap vs test-averaged Jacobian norm and vs transitions, one panel per dataset
(claims C6, C7), and, beyond the paper, Kendall's τ and the granulated Kendall Ψ of Jiang et
al. (2020) for the two sensitivity measures and simple baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce import studies

NAME = "correlation"
CLAIMS = ("C6", "C7")
PAPER = ("C6", "positive correlation of ‖J‖ with the gap on MNIST, Fashion-MNIST, CIFAR-10 "
         "and CIFAR-100")

# Measures for Kendall τ and Ψ: (column or function of the row table, label).
MEASURES = {
    "Jacobian norm": lambda f: f.jacobian_test_mean,
    "transitions (per test point)": lambda f: f.test_point_transitions_mean,
    "number of weights": lambda f: f.num_weights.astype(float),
    "weight norm": lambda f: f.weight_norm,
    "final train loss": lambda f: f.train_loss,
    "1 − softmax confidence": lambda f: 1.0 - f.test_confidence_mean,
}


def _corr_text(est) -> str:
  return ", ".join(f"{k} {v.text()}" for k, v in est.items())


def analyze_dataset(dataset, conv, num_bootstrap, seed):
  jac = statistics.correlations(np.log10(conv.jacobian_test_mean), conv.generalization_gap,
                                num_bootstrap, seed)
  trans = statistics.correlations(conv.test_point_transitions_mean, conv.generalization_gap,
                                  num_bootstrap, seed)
  n = len(conv)
  c6 = claims_lib.ClaimResult(
      "C6", dataset, f"log10 ‖J‖ vs gap: {_corr_text(jac)}",
      {k: v.as_dict() for k, v in jac.items()}, n, "networks",
      claims_lib.verdict(all(claims_lib.above(v, 0) for v in jac.values()), n, "networks"),
      NAME, PAPER[1])
  return c6, jac, trans


def kendall_table(frame: pd.DataFrame) -> dict:
  return {name: float(statistics._kendall(fn(frame), frame.generalization_gap))
          if len(frame) > 2 else float("nan") for name, fn in MEASURES.items()}


def psi_table(frame: pd.DataFrame, factors) -> dict:
  out = {}
  for name, fn in MEASURES.items():
    f = frame.assign(measure=fn(frame))
    try:
      out[name] = statistics.granulated_kendall(f, factors, "measure")
    except statistics.IncompleteGridError as e:
      return {"refused": str(e)}
  return out


def run(cfg, ws):
  results, extras = [], []
  panels = {}
  for dataset in cfg.datasets:
    rows, conv = studies.converged_survey(ws, dataset)
    c6, jac, trans = analyze_dataset(dataset, conv, cfg.num_bootstrap, cfg.seed)
    results.append(c6)
    panels[dataset] = (conv, jac, trans, len(rows))
    # Beyond the paper: τ on the random survey (Ψ refused there), Ψ on the grid study.
    extras.append(dict(dataset=dataset, population="survey, networks at 100% train accuracy",
                       n=len(conv), kendall=kendall_table(conv),
                       psi=psi_table(conv, ["depth", "width", "optimizer", "batch_size"])))
    if dataset in cfg.grid_datasets:
      grid = ws.study(studies.grid(ws.preset, dataset))
      ok = grid[grid.status == "ok"]
      factors = list(studies.grid(ws.preset, dataset).grid.keys())
      extras.append(dict(dataset=dataset, population="factorial grid study, all networks",
                         n=len(ok), kendall=kendall_table(ok), psi=psi_table(ok, factors)))
  # C6 across datasets, C7.
  per = [r for r in results if r.claim == "C6"]
  all_hold = all(r.verdict == claims_lib.HOLDS for r in per)
  any_missing = any(r.verdict == claims_lib.NO_DATA for r in per)
  n_total = sum(r.n for r in per)
  results.append(claims_lib.ClaimResult(
      "C6", "all datasets run", "verdicts per dataset: " + ", ".join(
          f"{r.dataset} {r.verdict}" for r in per) + " (CIFAR-100: no offline copy here)",
      {r.dataset: r.verdict for r in per}, n_total, "networks",
      claims_lib.NO_DATA if any_missing else (claims_lib.HOLDS if all_hold else claims_lib.FAILS),
      NAME, PAPER[1]))
  rho_j = {d: p[1]["spearman"] for d, p in panels.items()}
  rho_t = {d: p[2]["spearman"] for d, p in panels.items()}
  lower = all(rho_t[d].value < rho_j[d].value for d in panels)
  unstable = any(not (rho_t[d].low > 0 or rho_t[d].high < 0) for d in panels)
  n_min = min((len(p[0]) for p in panels.values()), default=0)
  results.append(claims_lib.ClaimResult(
      "C7", "all datasets run", "Spearman ρ transitions vs ρ ‖J‖: " + "; ".join(
          f"{d} {rho_t[d].text()} vs {rho_j[d].text()}" for d in panels),
      {d: dict(transitions=rho_t[d].as_dict(), jacobian=rho_j[d].as_dict()) for d in panels},
      n_min, "networks", claims_lib.verdict(lower or unstable, n_min, "networks"), NAME,
      "transitions correlate with the gap, but less consistently than ‖J‖"))
  draw(panels, ws.figure(NAME), ws.preset)
  return results, extras


def draw(panels, path, preset):
  fig, axes = figures.subplots(2, len(panels), width=3.8, height=3.2)
  for col, (dataset, (conv, jac, trans, total)) in enumerate(panels.items()):
    top, bottom = axes[0, col], axes[1, col]
    random_labels = conv.random_label_fraction > 0
    for ax, x, label in ((top, conv.jacobian_test_mean, "test-averaged ‖J‖ (log scale)"),
                         (bottom, conv.test_point_transitions_mean, "transitions per loop "
                                                                    "through a test point")):
      ax.scatter(x[~random_labels], conv.generalization_gap[~random_labels], s=10,
                 label="true labels")
      ax.scatter(x[random_labels], conv.generalization_gap[random_labels], s=10, marker="x",
                 label="random labels")
      ax.set_xlabel(label)
      ax.set_ylabel("generalization gap")
    if (conv.jacobian_test_mean > 0).any():
      top.set_xscale("log")
    top.set_title(f"{dataset}: {len(conv)} of {total} networks at 100% train acc.", fontsize=9)
    top.text(0.98, 0.02, f"Spearman {jac['spearman'].text()}", transform=top.transAxes,
             ha="right", fontsize=7)
    bottom.text(0.98, 0.02, f"Spearman {trans['spearman'].text()}", transform=bottom.transAxes,
                ha="right", fontsize=7)
    if col == 0:
      top.legend(fontsize=7, loc="upper left")
      figures.paper_note(bottom, "gap correlates with ‖J‖ on all 4 datasets, less "
                                 "consistently with transitions")
  figures.title(fig, NAME, ", ".join(panels), f"{sum(len(p[0]) for p in panels.values())} "
                "networks", preset)
  return figures.save(fig, path)
