"""trajectories: mean Jacobian norm (log scale) and transition density along random,
different-class and same-class ellipses of a trained network, anchors marked, interquartile
bands over ellipses (claims C3, C4). Writes the per-ellipse and per-anchor tables behind C3 and
C4 (`per_ellipse`, `per_anchor`) to ``<dataset>/tables/`` of the workspace."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.metrics import input_units
from sensitivity_tf.metrics import trajectories as trajectories_lib
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import export
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


def anchor_bins(bins: int) -> np.ndarray:
  """(bins,) bool: the angle bins "at the anchors" of the C4 dip [ours]: those whose centre
  lies within one bin width of an anchor (π/3, π, 5π/3), circularly. An anchor on a bin edge
  gets the two bins it separates, one inside a bin that bin and its nearer neighbour (three
  when it sits exactly at the centre)."""
  width = 2 * math.pi / bins
  centres = (np.arange(bins) + 0.5) * width
  gaps = np.abs(centres[:, None] - np.asarray(trajectories_lib.ANCHOR_ANGLES)[None, :])
  gaps = np.minimum(gaps, 2 * math.pi - gaps).min(axis=1)
  return gaps <= width * (1 + 1e-9)


def per_ellipse(traj_j: pd.DataFrame, traj_t: pd.DataFrame) -> pd.DataFrame:
  """One row per ellipse: its kind, mean ‖J‖ and mean log10 ‖J‖ along it, mean ‖J‖ at its
  anchors, transitions per loop, mean density (per radian), mean density in the bins at the
  anchors (`anchor_bins`) and in the other bins, and their ratio (the dip: below 1 is a dip,
  above 1 a peak)."""
  j = traj_j.groupby(["kind", "ellipse"]).agg(
      jacobian_mean=("jacobian_norm", "mean"), jacobian_log10_mean=("log10_jacobian_norm", "mean"),
      jacobian_median=("jacobian_norm", "median"))
  j["jacobian_anchor_mean"] = traj_j[traj_j.is_anchor].groupby(
      ["kind", "ellipse"]).jacobian_norm.mean()
  bins = int(traj_t.bin.max()) + 1
  at = anchor_bins(bins)
  t = traj_t.assign(at_anchor=at[traj_t.bin.values.astype(int)])
  loops = t.groupby(["kind", "ellipse"]).agg(loop_transitions=("loop_transitions", "first"),
                                             density_mean=("density", "mean"))
  loops["density_at_anchors"] = t[t.at_anchor].groupby(["kind", "ellipse"]).density.mean()
  loops["density_between_anchors"] = t[~t.at_anchor].groupby(["kind", "ellipse"]).density.mean()
  out = j.join(loops, how="outer").reset_index()
  out["dip_ratio"] = out.density_at_anchors / out.density_between_anchors
  return out


def per_anchor(traj_j: pd.DataFrame) -> pd.DataFrame:
  """One row per anchor of every ellipse: kind, ellipse, anchor (0, 1, 2 at π/3, π, 5π/3),
  φ and ‖J‖ there (C3's anchor sample)."""
  a = traj_j[traj_j.is_anchor].sort_values(["kind", "ellipse", "phi"]).copy()
  a["anchor"] = a.groupby(["kind", "ellipse"]).cumcount()
  return a[["kind", "ellipse", "anchor", "phi", "jacobian_norm",
            "log10_jacobian_norm"]].reset_index(drop=True)


def features(ellipses: pd.DataFrame, num_bootstrap: int, seed: int) -> dict:
  """The numbers of Figure 2 that the paper's shape is judged on: mean ‖J‖ on random
  ellipses and at the class anchors, mean density per radian of each kind, the dip ratio of
  different-class ellipses (ratio of means over ellipses, paired bootstrap interval), and
  whether same class is the lowest density."""
  by_kind = ellipses.set_index("kind")
  density = {k: float(by_kind.loc[[k]].density_mean.mean()) if k in by_kind.index else math.nan
             for k in trajectories_lib.KINDS}
  different = ellipses[ellipses.kind == "different_class"]
  dip = statistics.paired_ratio(different.density_at_anchors, different.density_between_anchors,
                                num_bootstrap, seed)
  class_kinds = ellipses.kind.isin(["different_class", "same_class"])
  return dict(
      random_mean=float(ellipses[ellipses.kind == "random"].jacobian_mean.mean()),
      anchor_mean=float(ellipses[class_kinds].jacobian_anchor_mean.mean()),
      density=density, dip=dip,
      same_class_lowest=bool(density["same_class"] < min(density["random"],
                                                        density["different_class"])))


def shape_notes(f: dict) -> list:
  """Where our Figure 2 differs from the paper's shape, computed from ``features``."""
  notes = []
  dip = f["dip"]
  if math.isfinite(dip.value):
    shape = ("a dip, as in the paper" if claims_lib.below(dip, 1) else
             "a peak where the paper shows a dip (~60 at the anchors, ~165 between)"
             if claims_lib.above(dip, 1) else
             "neither a clear dip nor a clear peak (the paper shows a dip)")
    notes.append(f"different-class density at the anchors / between them "
                 f"{dip.text()}: {shape}")
  d = f["density"]
  order = sorted(d, key=d.get)
  notes.append("same class is the lowest density, as in the paper" if f["same_class_lowest"]
               else f"same class is not the lowest density (ours, low to high: "
                    f"{', '.join(k.replace('_', ' ') for k in order)}; paper: same class "
                    "lowest)")
  return notes


def analyze_dataset(dataset, traj_j, traj_t, num_bootstrap, seed, unit=input_units.RAW):
  """C3 and C4 on one network's trajectory tables; ‖J‖ is ``unit`` (`input_units`)."""
  ellipses = per_ellipse(traj_j, traj_t)
  random_means = ellipses[ellipses.kind == "random"].jacobian_mean.values
  anchors = traj_j[traj_j.is_anchor & traj_j.kind.isin(["different_class", "same_class"])]
  c3 = statistics.two_sample_interval(statistics.log10_mean_ratio, random_means,
                                      anchors.jacobian_norm.values, num_bootstrap, seed)
  n_ell = int(min(len(random_means), len(anchors) // 3))
  by_kind = ellipses.set_index("kind")
  d_trans = statistics.two_sample_interval(statistics.mean_difference,
                                           by_kind.loc[["different_class"]].loop_transitions,
                                           by_kind.loc[["same_class"]].loop_transitions,
                                           num_bootstrap, seed)
  d_jac = statistics.two_sample_interval(statistics.mean_difference,
                                         by_kind.loc[["different_class"]].jacobian_log10_mean,
                                         by_kind.loc[["same_class"]].jacobian_log10_mean,
                                         num_bootstrap, seed)
  f = features(ellipses, num_bootstrap, seed)
  density, dip = f["density"], f["dip"]
  c3_lines, c4_lines = claims_lib.Lines(), claims_lib.Lines()
  c4_old = claims_lib.above(d_trans, 0) and claims_lib.above(d_jac, 0)
  loop_scale = float(ellipses.loop_transitions.mean()) or 1.0
  c4 = all([c4_lines.above(d_trans, 0, "transitions per loop, different − same class",
                           scale=loop_scale),
            c4_lines.above(d_jac, 0, "mean log10 ‖J‖, different − same class"),
            c4_lines.below(dip, 1, "different-class density at / between the anchors")])
  n_c4 = min(d_trans.n, d_jac.n, dip.n)
  return [
      claims_lib.judged(
          "C3", dataset, f"log10(mean ‖J‖ on random ellipses / mean ‖J‖ at training anchors) "
          f"{c3.text()} (random-ellipse mean {f['random_mean']:.2e}, anchors "
          f"{f['anchor_mean']:.2e}; ‖J‖ {unit})",
          dict(log10_ratio=c3.as_dict(), random_mean=f["random_mean"],
               anchor_mean=f["anchor_mean"], jacobian_unit=unit), n_ell, "ellipses",
          c3_lines.above(c3, 1.0, "log10 ratio"), f"{NAME}_{dataset}", PAPER, lines=c3_lines),
      claims_lib.judged(
          "C4", dataset, f"different − same class: transitions per loop {d_trans.text(1)}, "
          f"mean log10 ‖J‖ {d_jac.text()}; densities per radian random "
          f"{density['random']:.1f}, different {density['different_class']:.1f}, same "
          f"{density['same_class']:.1f}; " + "; ".join(shape_notes(f)),
          dict(transitions=d_trans.as_dict(), log10_jacobian=d_jac.as_dict(), density=density,
               dip_ratio=dip.as_dict(), same_class_lowest=f["same_class_lowest"]),
          n_c4, "ellipses", c4, f"{NAME}_{dataset}", PAPER,
          old_verdict=claims_lib.verdict(c4_old, n_c4, "ellipses"), lines=c4_lines),
  ]


def run(cfg, ws):
  results = []
  settings = evaluation.EvaluationSettings(**cfg.evaluation.to_dict())
  unit = input_units.unit_of(cfg.network.to_dict(), cfg.evaluation.to_dict())
  for dataset in cfg.datasets:
    run_dir = ws.network("trajectories", dict(cfg.network.to_dict(), dataset=dataset), settings)
    traj_j, traj_t = tables(run_dir)
    results.extend(analyze_dataset(dataset, traj_j, traj_t, cfg.num_bootstrap, cfg.seed, unit))
    export.analysis_table(ws, dataset, "trajectories_per_ellipse", per_ellipse(traj_j, traj_t))
    export.analysis_table(ws, dataset, "trajectories_per_anchor", per_anchor(traj_j))
    metrics = run_dir.metrics()
    text = fit_text(metrics)
    if not metrics.get("reached_target"):
      results[-2:] = [claims_lib.withheld(r, text) for r in results[-2:]]
    draw(traj_j, traj_t, ws.figure(NAME, dataset), dataset, cfg.preset,
         f"1 network ({text}, test acc. {metrics['test_accuracy']:.4f})",
         features(per_ellipse(traj_j, traj_t), cfg.num_bootstrap, cfg.seed), unit)
  return results, []


def fit_text(metrics: dict) -> str:
  """The network's final training accuracy, and whether it counts as 100%."""
  reached = metrics.get("reached_target")
  return (f"train acc. {metrics['train_accuracy']:.4f}"
          + ("" if reached else ", NOT at 100%: no verdict drawn"))


def draw(traj_j, traj_t, path, dataset, preset, network_text, ours=None,
         unit=input_units.RAW):
  """Mean ‖J‖ (log scale) and mean density along each kind, with the interquartile band
  over ellipses; ``ours`` (`features`) adds our numbers and where the shape differs from the
  paper's to the caption."""
  fig, axes = figures.subplots(2, 1, width=7.0, height=3.0)
  top, bottom = axes[0, 0], axes[1, 0]
  for kind in trajectories_lib.KINDS:
    rows = traj_j[traj_j.kind == kind]
    j = rows.groupby("phi").jacobian_norm
    n = rows.ellipse.nunique()
    line, = top.plot(j.mean().index, j.mean().values, label=f"{kind.replace('_', ' ')} ({n})")
    top.fill_between(j.mean().index, j.quantile(0.25).values, j.quantile(0.75).values,
                     color=line.get_color(), alpha=0.2, lw=0)
    t = traj_t[traj_t.kind == kind].groupby("bin")
    edges = np.append(t.phi_start.first().values, t.phi_end.first().values[-1])
    mean, low, high = (np.append(v, v[-1]) for v in (
        t.density.mean().values, t.density.quantile(0.25).values,
        t.density.quantile(0.75).values))
    bottom.step(edges, mean, where="post", label=kind.replace("_", " "), color=line.get_color())
    bottom.fill_between(edges, low, high, step="post", color=line.get_color(), alpha=0.2, lw=0)
  top.set_yscale("log")
  top.set_ylabel(f"mean {input_units.label_of(unit)}\n(log scale; band: interquartile)",
                 fontsize=8)
  bottom.set_ylabel("transitions per radian\n(band: interquartile)", fontsize=8)
  bottom.set_xlabel("φ (radians); anchors at π/3, π, 5π/3")
  for ax in (top, bottom):
    for a in trajectories_lib.ANCHOR_ANGLES:
      ax.axvline(a, color="0.6", lw=0.8, ls=":")
    ax.set_xlim(0, 2 * math.pi)
  top.legend(fontsize=7, loc="lower right")
  figures.paper_note(top, PAPER)
  if ours:
    density = ours["density"]
    figures.paper_note(top, f"mean ‖J‖ {ours['random_mean']:.2g} on random ellipses, "
                            f"{ours['anchor_mean']:.2g} at the anchors ({unit}); transitions "
                            f"per radian random {density['random']:.0f}, different class "
                            f"{density['different_class']:.0f}, same class "
                            f"{density['same_class']:.0f}", source="ours")
    figures.paper_note(top, "; ".join(shape_notes(ours)), source="shape vs the paper")
  figures.title(fig, NAME, dataset, network_text, preset)
  return figures.save(fig, path)
