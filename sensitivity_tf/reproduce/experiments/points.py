"""points: within trained models, per-test-point Jacobian norm vs loss and vs
misclassification, beside the softmax-confidence baseline 1 − p_max (claim C12)."""

from __future__ import annotations

import os
import pathlib

import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.metrics import input_units
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import export
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce import growth

NAME = "points"
CLAIMS = ("C12",)
PAPER = "‖J(x)‖ predicts per-point generalization (loss, misclassification)"


def per_model(conv: pd.DataFrame, results_dir) -> pd.DataFrame:
  """One row per model: Spearman ρ(‖J(x)‖, loss), AUC of ‖J(x)‖ and of 1 − p_max for
  misclassification, on its test points (from its saved points table)."""
  rows = []
  for _, net in conv.iterrows():
    run_dir = pathlib.Path(results_dir, net.run_dir)
    table = run_dir / evaluation.SUBDIR / evaluation.POINTS
    points = pd.read_parquet(table)
    test = points[points.split == "test"]
    wrong = ~test.correct.values
    rows.append(dict(
        trial_key=net.trial_key,
        spearman=statistics.STATISTICS["spearman"](test.log10_jacobian_norm, test.loss),
        auc_jacobian=statistics.roc_auc(test.log10_jacobian_norm, wrong),
        auc_confidence=statistics.roc_auc(1.0 - test.confidence, wrong),
        spearman_jacobian_confidence=statistics.STATISTICS["spearman"](
            test.log10_jacobian_norm, 1.0 - test.confidence),
        partial_given_confidence=statistics.partial_spearman(
            test.log10_jacobian_norm, test.loss, 1.0 - test.confidence),
        run_dir=str(run_dir)))
  return pd.DataFrame(rows, columns=["trial_key", "spearman", "auc_jacobian", "auc_confidence",
                                    "spearman_jacobian_confidence", "partial_given_confidence",
                                    "run_dir"])


def published(models: pd.DataFrame, root) -> pd.DataFrame:
  """The per-model table as published: ``run_dir`` relative to the workspace, so no path of
  this machine leaves it."""
  out = models.copy()
  out["run_dir"] = [os.path.relpath(p, root) for p in out.run_dir]
  return out


def analyze_dataset(dataset, models, num_bootstrap, seed, needed=0):
  """C12 over the per-model rows ``models`` (networks at 100%); a verdict needs ``needed``
  of them (the preset's survey target, `claims.needs`)."""
  rho = statistics.mean_interval(models.spearman, num_bootstrap, seed)
  auc = statistics.mean_interval(models.auc_jacobian, num_bootstrap, seed)
  base = statistics.mean_interval(models.auc_confidence, num_bootstrap, seed)
  restate = statistics.mean_interval(models.spearman_jacobian_confidence, num_bootstrap, seed)
  beyond = statistics.mean_interval(models.partial_given_confidence, num_bootstrap, seed)
  n = len(models)
  text = (f"beyond confidence, mean per-model partial ρ(‖J(x)‖, loss(x) | p_max) "
          f"{beyond.text()} (the verdict's statistic); mean per-model Spearman ρ(‖J(x)‖, "
          f"loss(x)) {rho.text()}; mean ROC-AUC of ‖J(x)‖ "
          f"for misclassification {auc.text()} vs the confidence baseline 1 − p_max "
          f"{base.text()}; ‖J(x)‖ vs 1 − p_max Spearman {restate.text()} (how much ‖J‖ "
          f"restates confidence)")
  lines = claims_lib.Lines()
  old = claims_lib.above(rho, 0) and claims_lib.above(auc, 0.5)
  return claims_lib.judged(
      "C12", dataset, text, dict(spearman=rho.as_dict(), auc_jacobian=auc.as_dict(),
                                 auc_confidence=base.as_dict(), restatement=restate.as_dict(),
                                 beyond_confidence=beyond.as_dict()),
      n, "models", lines.above(beyond, 0, "partial ρ(‖J(x)‖, loss(x) | p_max)"),
      f"{NAME}_{dataset}", PAPER, old_verdict=claims_lib.verdict(old, n, "models", needed),
      needed=needed, lines=lines)


def run(cfg, ws):
  results = []
  for dataset in cfg.datasets:
    _, conv = growth.converged_survey(ws, cfg, dataset)
    models = per_model(conv, ws.study_dir(growth.on_dataset(cfg.survey, dataset)))
    results.append(analyze_dataset(dataset, models, cfg.num_bootstrap, cfg.seed,
                                   cfg.growth.min_converged))
    export.analysis_table(ws, dataset, "points_per_model", published(models, ws.root))
    study = cfg.survey.to_dict()
    draw(models, ws.figure(NAME, dataset), dataset, cfg.preset,
         input_units.unit_of(study["fixed"], study["evaluation"]))
  return results, []


def draw(models, path, dataset, preset, unit=input_units.RAW):
  fig, axes = figures.subplots(1, 3, width=3.8)
  if len(models):
    median = models.iloc[(models.spearman - models.spearman.median()).abs().argmin()]
    points = pd.read_parquet(pathlib.Path(median.run_dir, evaluation.SUBDIR, evaluation.POINTS))
    test = points[points.split == "test"]
    ax = axes[0, 0]
    ax.scatter(test.jacobian_norm[test.correct], test.loss[test.correct], s=3, alpha=0.4,
               label="correct")
    ax.scatter(test.jacobian_norm[~test.correct], test.loss[~test.correct], s=3, alpha=0.6,
               label="misclassified")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{input_units.label_of(unit)} at a test point", fontsize=8)
    ax.set_ylabel("test loss at that point")
    ax.set_title(f"median model (ρ = {median.spearman:.2f})", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[0, 1]
    ax.scatter(models.auc_confidence, models.auc_jacobian, s=12)
    figures.identity_line(ax)
    ax.axhline(0.5, color="0.8", lw=0.8)
    ax.set_xlabel("ROC-AUC of 1 − p_max (baseline)")
    ax.set_ylabel("ROC-AUC of ‖J(x)‖")
    ax.set_title("misclassification, per model", fontsize=9)
    ax = axes[0, 2]
    ax.hist(models.spearman, bins=15, alpha=0.6, label="ρ(‖J(x)‖, loss(x))")
    ax.hist(models.partial_given_confidence, bins=15, alpha=0.6,
            label="partial ρ given p_max (the verdict's)")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("per-model Spearman ρ with the loss", fontsize=8)
    ax.set_ylabel("models")
    ax.legend(fontsize=7, loc="upper left")
  figures.paper_note(axes[0, 2], PAPER)
  figures.title(fig, NAME, dataset, f"{len(models)} models at 100% train acc.", preset)
  return figures.save(fig, path)
