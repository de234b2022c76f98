"""capacity: generalization gap vs number of weights and vs final train loss, for networks at
100% training accuracy (claims C1, C2), random-label networks marked; C1 and C2 are also
judged on the true-label networks alone (their own rows)."""

from __future__ import annotations

import numpy as np

from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import growth
from sensitivity_tf.reproduce import statistics

NAME = "capacity"
CLAIMS = ("C1", "C2")
PAPER = "2160 CIFAR-10 nets at 100% train acc., 1.2e5–1.1e9 weights, gaps 0.43–0.90"
TRUE_LABELS_ONLY = " (true labels only)"


def analyze_dataset(dataset, conv, num_bootstrap, seed, needed=0):
  """C1 and C2 on the networks at 100% ``conv``, then on its true-label networks alone (rows
  named ``<dataset> (true labels only)``); a verdict needs ``needed`` networks (the preset's
  survey target, `claims.needs`)."""
  out = []
  true_labels = conv[conv.random_label_fraction == 0] if "random_label_fraction" in conv else conv
  for name, frame in ((dataset, conv), (dataset + TRUE_LABELS_ONLY, true_labels)):
    rho_size = statistics.bootstrap(statistics.STATISTICS["spearman"], frame.num_weights,
                                    frame.generalization_gap, num_bootstrap, seed)
    rho_loss = statistics.bootstrap(statistics.STATISTICS["spearman"],
                                    np.log10(frame.train_loss), frame.generalization_gap,
                                    num_bootstrap, seed)
    n = len(frame)
    c1, c2 = claims_lib.Lines(), claims_lib.Lines()
    out += [
        claims_lib.judged(
            "C1", name, f"Spearman ρ(number of weights, gap) {rho_size.text()}",
            rho_size.as_dict(), n, "networks", c1.below(rho_size, 0.25, "ρ"),
            f"{NAME}_{dataset}", PAPER, needed=needed, lines=c1),
        claims_lib.judged(
            "C2", name, f"Spearman ρ(log10 final train loss, gap) {rho_loss.text()}",
            rho_loss.as_dict(), n, "networks",
            all([c2.above(rho_loss, -0.5, "ρ"), c2.below(rho_loss, 0.5, "ρ")]),
            f"{NAME}_{dataset}", "no clear relation of train loss and gap", needed=needed,
            lines=c2),
    ]
  return out


def run(cfg, ws):
  results = []
  for dataset in cfg.datasets:
    rows, conv = growth.converged_survey(ws, cfg, dataset)
    results.extend(analyze_dataset(dataset, conv, cfg.num_bootstrap, cfg.seed,
                                   cfg.growth.min_converged))
    draw(conv, len(rows), ws.figure(NAME, dataset), dataset, cfg.preset)
  return results, []


def draw(conv, total, path, dataset, preset):
  """Gap vs size and vs final loss; random-label networks as crosses (as in the correlation
  figure), so the true-label gaps are seen apart from the ~1 − 1/K band."""
  fig, axes = figures.subplots(1, 2)
  random_labels = ((conv.random_label_fraction > 0).values if "random_label_fraction" in conv
                   else np.zeros(len(conv), bool))
  for ax, column, label in ((axes[0, 0], "num_weights", "number of weights"),
                            (axes[0, 1], "train_loss", "final train loss")):
    ax.scatter(conv[column][~random_labels], conv.generalization_gap[~random_labels], s=12,
               label=f"true labels ({int((~random_labels).sum())})")
    ax.scatter(conv[column][random_labels], conv.generalization_gap[random_labels], s=14,
               marker="x", label=f"random labels ({int(random_labels.sum())})")
    if (conv[column] > 0).any():
      ax.set_xscale("log")
    ax.set_xlabel(f"{label} (log scale)")
    ax.set_ylabel("generalization gap")
  figures.legend(axes[0, 0])
  figures.paper_note(axes[0, 0], PAPER)
  figures.title(fig, NAME, dataset, f"{len(conv)} of {total} networks at 100% train acc.",
                preset)
  return figures.save(fig, path)
