"""capacity: generalization gap vs number of weights and vs final train loss, for networks at
100% training accuracy (claims C1, C2)."""

from __future__ import annotations

import numpy as np

from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce import growth

NAME = "capacity"
CLAIMS = ("C1", "C2")
PAPER = "2160 CIFAR-10 nets at 100% train acc., 1.2e5–1.1e9 weights, gaps 0.43–0.90"


def analyze_dataset(dataset, conv, num_bootstrap, seed, needed=0):
  """C1 and C2 on the networks at 100% ``conv``; a verdict needs ``needed`` of them (the
  preset's survey target, `claims.needs`)."""
  rho_size = statistics.bootstrap(statistics.STATISTICS["spearman"], conv.num_weights,
                                  conv.generalization_gap, num_bootstrap, seed)
  rho_loss = statistics.bootstrap(statistics.STATISTICS["spearman"], np.log10(conv.train_loss),
                                  conv.generalization_gap, num_bootstrap, seed)
  n = len(conv)
  return [
      claims_lib.judged(
          "C1", dataset, f"Spearman ρ(number of weights, gap) {rho_size.text()}",
          rho_size.as_dict(), n, "networks", claims_lib.below(rho_size, 0.25),
          f"{NAME}_{dataset}", PAPER, needed=needed),
      claims_lib.judged(
          "C2", dataset, f"Spearman ρ(log10 final train loss, gap) {rho_loss.text()}",
          rho_loss.as_dict(), n, "networks",
          claims_lib.above(rho_loss, -0.5) and claims_lib.below(rho_loss, 0.5),
          f"{NAME}_{dataset}", "no clear relation of train loss and gap", needed=needed),
  ]


def run(cfg, ws):
  results = []
  for dataset in cfg.datasets:
    rows, conv = growth.converged_survey(ws, cfg, dataset)
    results.extend(analyze_dataset(dataset, conv, cfg.num_bootstrap, cfg.seed,
                                   cfg.growth.min_converged))
    draw(conv, len(rows), ws.figure(NAME, dataset), dataset, cfg.preset)
  return results, []


def draw(conv, total, path, dataset, preset):
  fig, axes = figures.subplots(1, 2)
  for ax, column, label in ((axes[0, 0], "num_weights", "number of weights"),
                            (axes[0, 1], "train_loss", "final train loss")):
    ax.scatter(conv[column], conv.generalization_gap, s=12)
    if (conv[column] > 0).any():
      ax.set_xscale("log")
    ax.set_xlabel(f"{label} (log scale)")
    ax.set_ylabel("generalization gap")
  figures.paper_note(axes[0, 0], PAPER)
  figures.title(fig, NAME, dataset, f"{len(conv)} of {total} networks at 100% train acc.",
                preset)
  return figures.save(fig, path)
