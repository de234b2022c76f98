"""trajectories: mean Jacobian norm (log scale) and transition density along random,
different-class and same-class ellipses of a trained network, anchors marked (claims C3, C4)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.metrics import trajectories as trajectories_lib
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics

NAME = "trajectories"
CLAIMS = ("C3", "C4")
PAPER = ("MNIST Figure 2: mean ‖J‖ ~1e4–2e4 on random ellipses, ~1e-2…1e-4 at the anchors; "
         "transition density ~140 on random ellipses, different class ~60 at the anchors to "
         "~165 between them, same class ~50 (read off the figure)")


def tables(run):
  out = run.file(evaluation.SUBDIR)
  return (pd.read_parquet(out / evaluation.TRAJECTORY_JACOBIAN),
          pd.read_parquet(out / evaluation.TRAJECTORY_TRANSITIONS))


def analyze_dataset(dataset, traj_j, traj_t, num_bootstrap, seed):
  per_ellipse = traj_j.groupby(["kind", "ellipse"]).agg(
      mean_norm=("jacobian_norm", "mean"), mean_log10=("log10_jacobian_norm", "mean"))
  random_means = per_ellipse.loc["random"].mean_norm.values
  anchors = traj_j[traj_j.is_anchor & traj_j.kind.isin(["different_class", "same_class"])]
  c3 = statistics.two_sample_interval(statistics.log10_mean_ratio, random_means,
                                      anchors.jacobian_norm.values, num_bootstrap, seed)
  n_ell = int(min(len(random_means), len(anchors) // 3))
  loops = traj_t.groupby(["kind", "ellipse"]).loop_transitions.first()
  d_trans = statistics.two_sample_interval(statistics.mean_difference,
                                           loops.loc["different_class"].values,
                                           loops.loc["same_class"].values, num_bootstrap, seed)
  d_jac = statistics.two_sample_interval(statistics.mean_difference,
                                         per_ellipse.loc["different_class"].mean_log10.values,
                                         per_ellipse.loc["same_class"].mean_log10.values,
                                         num_bootstrap, seed)
  density = {k: float(loops.loc[k].mean() / (2 * math.pi)) for k in trajectories_lib.KINDS}
  anchor_norm = float(anchors.jacobian_norm.mean())
  return [
      claims_lib.judged(
          "C3", dataset, f"log10(mean ‖J‖ on random ellipses / mean ‖J‖ at training anchors) "
          f"{c3.text()} (random-ellipse mean {np.mean(random_means):.2e}, anchors "
          f"{anchor_norm:.2e})", dict(log10_ratio=c3.as_dict(),
                                      random_mean=float(np.mean(random_means)),
                                      anchor_mean=anchor_norm), n_ell, "ellipses",
          claims_lib.above(c3, 1.0), f"{NAME}_{dataset}", PAPER),
      claims_lib.judged(
          "C4", dataset, f"different − same class: transitions per loop {d_trans.text(1)}, "
          f"mean log10 ‖J‖ {d_jac.text()}; densities per radian random "
          f"{density['random']:.1f}, different {density['different_class']:.1f}, same "
          f"{density['same_class']:.1f}", dict(transitions=d_trans.as_dict(),
                                               log10_jacobian=d_jac.as_dict(), density=density),
          min(d_trans.n, d_jac.n), "ellipses",
          claims_lib.above(d_trans, 0) and claims_lib.above(d_jac, 0), f"{NAME}_{dataset}",
          PAPER),
  ]


def run(cfg, ws):
  results = []
  settings = evaluation.EvaluationSettings(**cfg.evaluation.to_dict())
  for dataset in cfg.datasets:
    run_dir = ws.network("trajectories", dict(cfg.network.to_dict(), dataset=dataset), settings)
    traj_j, traj_t = tables(run_dir)
    results.extend(analyze_dataset(dataset, traj_j, traj_t, cfg.num_bootstrap, cfg.seed))
    metrics = run_dir.metrics()
    text = fit_text(metrics)
    if not metrics.get("reached_target"):
      results[-2:] = [claims_lib.withheld(r, text) for r in results[-2:]]
    draw(traj_j, traj_t, ws.figure(NAME, dataset), dataset, cfg.preset,
         f"1 network ({text}, test acc. {metrics['test_accuracy']:.4f})",
         ours=results[-2].values, density=results[-1].values["density"])
  return results, []


def fit_text(metrics: dict) -> str:
  """The network's final training accuracy, and whether it counts as 100%."""
  reached = metrics.get("reached_target")
  return (f"train acc. {metrics['train_accuracy']:.4f}"
          + ("" if reached else ", NOT at 100%: no verdict drawn"))


def draw(traj_j, traj_t, path, dataset, preset, network_text, ours=None, density=None):
  fig, axes = figures.subplots(2, 1, width=7.0, height=3.0)
  top, bottom = axes[0, 0], axes[1, 0]
  for kind in trajectories_lib.KINDS:
    j = traj_j[traj_j.kind == kind].groupby("phi").jacobian_norm.mean()
    n = traj_j[traj_j.kind == kind].ellipse.nunique()
    top.plot(j.index, j.values, label=f"{kind.replace('_', ' ')} ({n})")
    t = traj_t[traj_t.kind == kind].groupby("bin").agg(phi=("phi_start", "first"),
                                                        end=("phi_end", "first"),
                                                        density=("density", "mean"))
    bottom.step(np.append(t.phi.values, t.end.values[-1]), np.append(t.density.values,
                t.density.values[-1]), where="post", label=kind.replace("_", " "))
  top.set_yscale("log")
  top.set_ylabel("mean ‖J‖ (log scale)")
  bottom.set_ylabel("transitions per radian")
  bottom.set_xlabel("φ (radians); anchors at π/3, π, 5π/3")
  for ax in (top, bottom):
    for a in trajectories_lib.ANCHOR_ANGLES:
      ax.axvline(a, color="0.6", lw=0.8, ls=":")
    ax.set_xlim(0, 2 * math.pi)
  top.legend(fontsize=7, loc="lower right")
  figures.paper_note(top, PAPER)
  if ours and density:
    figures.paper_note(top, f"mean ‖J‖ {ours['random_mean']:.2g} on random ellipses, "
                            f"{ours['anchor_mean']:.2g} at the anchors; transitions per radian "
                            f"random {density['random']:.0f}, different class "
                            f"{density['different_class']:.0f}, same class "
                            f"{density['same_class']:.0f}", source="ours")
  figures.title(fig, NAME, dataset, network_text, preset)
  return figures.save(fig, path)
