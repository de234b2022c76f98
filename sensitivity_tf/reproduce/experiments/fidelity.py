"""fidelity: why our Figures 2 and 3 differ from the paper's (issue 20), tested setting by
setting.

The trajectories and regions networks of the preset are retrained under each hypothesis and
their combinations (``cfg.settings``, built in configs/_common.py):

* **units**: inputs raw pixels in [0, 1], or standardized per pixel; with standardized inputs
  ‖J‖ is reported both per standardized unit and per raw pixel (`metrics.input_units`);
* **training length**: one long run per network to the largest multiple of its budget in
  ``cfg.checkpoints``, its weights kept at every multiple (``snapshot_steps``) and measured
  there, so the training lengths come from one run, not one run each;
* **training-set size**: the preset's subset, or the full training set.

For every setting × checkpoint it measures each feature of Figures 2 and 3 and whether it
matches the paper (`MATCHES`, docs/method.md "The fidelity study"), writes one table row
(``<dataset>/tables/fidelity.csv``, published by ``--docs_dir``) and draws the features
against the training length. It judges no claim: it says which setting, if any, gives the
paper's shapes. Everything is cached: networks in the workspace (resumable), each snapshot's
evaluation and slices under ``<dataset>/fidelity/``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.metrics import input_units
from sensitivity_tf.store import atomic
from sensitivity_tf.train import train_config
from sensitivity_tf.reproduce import export
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce.experiments import region_maps
from sensitivity_tf.reproduce.experiments import trajectory_profiles

NAME = "fidelity"
CLAIMS = ()

# What the paper shows (MNIST, Figures 2 and 3, read off the figures) and what "matches" means
# for each feature [ours]. ‖J‖ per raw pixel in [0, 1]: within the paper's range widened by
# one decade each side; densities (transitions per radian): within a factor of 2.
PAPER_JACOBIAN = dict(anchors=(1e-4, 1e-2), random=(1e4, 2e4))
SLACK_DECADES = 1.0
PAPER_DENSITY = dict(random=140.0, different_at_anchors=60.0, different_between=165.0,
                     same_class=50.0)
DENSITY_FACTOR = 2.0
MATCHES = {
    "dip_at_anchors": "different-class density at the anchors / between them: 95% interval "
                      "below 1 (paper: ~60 / ~165)",
    "same_class_lowest": "mean same-class density below random's and different-class's",
    "denser_after_training": "disc code-change density after / before training: 95% interval "
                             "above 1 (paper: much denser after training)",
    "anchors_in_low_density": "share of anchors whose density within 0.1 R is below their "
                              "disc's: Wilson interval above 1/2 (C5's first part)",
    "jacobian_anchors": "mean ‖J‖ at the class anchors, per raw pixel, within 1e-5 … 1e-1 "
                        "(paper ~1e-4 … 1e-2, one decade of slack)",
    "jacobian_random": "mean ‖J‖ on random ellipses, per raw pixel, within 1e3 … 2e5 (paper "
                       "~1e4 … 2e4, one decade of slack)",
    "density_values": "densities within a factor 2 of the paper's: random ~140, different "
                      "class ~60 at the anchors and ~165 between, same class ~50",
}


def chosen(cfg) -> dict:
  """The settings ``cfg.settings`` names (comma-separated, in that order), each one of
  ``cfg.setting_values`` (name -> dict(standardize, full_training_set)); a one-line
  ConfigError otherwise."""
  value = str(cfg.settings)
  names = [n.strip() for n in value.split(",")]
  if any(n not in cfg.setting_values for n in names) or len(set(names)) != len(names):
    raise train_config.ConfigError(
        f"settings={value!r} is invalid; allowed: distinct settings separated by commas, "
        f"from {', '.join(cfg.setting_values)}")
  out = {}
  for name in names:
    setting = dict(cfg.setting_values[name])
    if set(setting) != {"standardize", "full_training_set"}:
      raise train_config.ConfigError(
          f"setting_values.{name}={setting!r} is invalid; allowed: "
          "dict(standardize=bool, full_training_set=bool)")
    out[name] = setting
  return out


def validate(cfg) -> None:
  """One-line ConfigError for a fidelity config that cannot run (before any training)."""
  settings = chosen(cfg)
  steps = list(cfg.checkpoints)
  if not steps or any(not isinstance(m, int) or m < 1 for m in steps) or (
      steps != sorted(set(steps))):
    raise train_config.ConfigError(
        f"checkpoints={steps!r} is invalid; allowed: increasing integers >= 1 (multiples of "
        "each network's budget)")
  for kind in ("trajectories", "regions"):
    for setting in settings.values():
      for dataset in cfg.datasets:
        train_config.TrainConfig.from_mapping(
            overrides(cfg[kind].network.to_dict(), setting, steps, dataset))
  evaluation.EvaluationSettings(**cfg.trajectories.evaluation.to_dict()).validate()
  for name, low in (("num_slices", 1), ("resolution", 2)):
    value = cfg.regions[name]
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
      raise train_config.ConfigError(f"regions.{name}={value!r} is invalid; allowed: an "
                                     f"integer >= {low}")


def overrides(network: dict, setting: dict, checkpoints, dataset: str) -> dict:
  """The training fields of one network of the study: the preset's network on ``dataset``
  with the setting's inputs and training set, trained to the last checkpoint, its weights
  kept and evaluated at every checkpoint (multiples of its budget ``max_steps``)."""
  budget = int(network["max_steps"])
  steps = [budget * int(m) for m in checkpoints]
  return dict(network, dataset=dataset, standardize=bool(setting["standardize"]),
              train_subset=0 if setting["full_training_set"] else network["train_subset"],
              max_steps=steps[-1], snapshot_steps=",".join(map(str, steps)), eval_every=budget)


def _at(run, step):
  """The run's network with its weights at ``step`` (a snapshot)."""
  model = run.load_model()
  model.load_weights(run.snapshot(step))
  return model


def _history(run, step) -> dict:
  record = next((r for r in run.history() if r.step == step), None)
  return dataclasses.asdict(record) if record else {}


def _cached_evaluation(ws, dataset, run, ds, step, settings):
  """(trajectory ‖J‖ table, trajectory transitions table) of the run's network at ``step``,
  computed once per settings and kept under ``<dataset>/fidelity/<run>/``."""
  stem = ws.path(dataset, "fidelity", run.path.name, f"step_{step}_{settings.settings_id}")
  paths = [stem.with_name(stem.name + f"_{t}.parquet") for t in ("jacobian", "transitions")]
  if not all(p.is_file() for p in paths):
    _, traj_j, traj_t, _ = evaluation.evaluate(_at(run, step), ds, settings)
    for path, frame in zip(paths, (traj_j, traj_t)):
      atomic.write_parquet(path, frame)
  return tuple(pd.read_parquet(p) for p in paths)


def trajectory_features(ws, dataset, run, ds, step, cfg) -> dict:
  """Figure 2's features of the trajectories network at ``step`` (module docstring)."""
  settings = evaluation.EvaluationSettings(**cfg.trajectories.evaluation.to_dict())
  traj_j, traj_t = _cached_evaluation(ws, dataset, run, ds, step, settings)
  ellipses = trajectory_profiles.per_ellipse(traj_j, traj_t)
  f = trajectory_profiles.features(ellipses, cfg.num_bootstrap, cfg.seed)
  raw = f
  if ds.options.get("standardize"):
    # ‖J‖ per raw pixel along the same ellipses; its transitions are not used, so they are
    # sampled at the fewest points the bins allow.
    cheap = dataclasses.replace(settings, jacobian_wrt="raw_pixels",
                                num_samples=math.lcm(6, settings.bins))
    raw_j, _ = _cached_evaluation(ws, dataset, run, ds, step, cheap)
    raw = trajectory_profiles.features(trajectory_profiles.per_ellipse(raw_j, traj_t),
                                       cfg.num_bootstrap, cfg.seed)
  different = ellipses[ellipses.kind == "different_class"]
  dip = f["dip"]
  return dict(
      jacobian_unit=input_units.unit(bool(ds.options.get("standardize"))),
      jacobian_anchors=f["anchor_mean"], jacobian_random=f["random_mean"],
      jacobian_anchors_raw_pixels=raw["anchor_mean"],
      jacobian_random_raw_pixels=raw["random_mean"],
      density_random=f["density"]["random"], density_same_class=f["density"]["same_class"],
      density_different_class=f["density"]["different_class"],
      density_different_at_anchors=float(different.density_at_anchors.mean()),
      density_different_between=float(different.density_between_anchors.mean()),
      dip_ratio=dip.value, dip_ratio_low=dip.low, dip_ratio_high=dip.high,
      same_class_lowest=f["same_class_lowest"])


def region_features(ws, dataset, run, ds, step, cfg) -> dict:
  """Figure 3's features of the regions network at ``step``: slices before (initial
  weights) and after (the snapshot) training, cached without their images."""
  r = cfg.regions
  data = {}
  for when, name, model in (("before", "initial", lambda run: run.initial_model()),
                            ("after", f"step_{step}", lambda run: _at(run, step))):
    path = ws.path(dataset, "fidelity", run.path.name,
                   f"{name}_slices_r{r.resolution}_n{r.num_slices}_s{cfg.seed}.npz")
    if not path.is_file():  # the initial network's slices are measured once per run
      atomic.write_npz(path, **region_maps.measure(ds, {when: model(run)}, r.num_slices,
                                                   r.resolution, cfg.seed, images=False))
    with np.load(path) as f:
      data.update(f)
  slices = region_maps.per_slice(data)
  anchors = region_maps.per_anchor(data)
  denser = statistics.paired_ratio(slices.disc_density_after, slices.disc_density_before,
                                   cfg.num_bootstrap, cfg.seed)
  share = statistics.binomial_interval(int((anchors.near_ratio_after < 1).sum()), len(anchors))
  return dict(regions_before=float(slices.regions_before.mean()),
              regions_after=float(slices.regions_after.mean()),
              disc_density_ratio=denser.value, disc_density_ratio_low=denser.low,
              disc_density_ratio_high=denser.high, anchors_below_share=share.value,
              anchors_below_share_low=share.low)


def _within(value: float, low: float, high: float) -> bool:
  return bool(math.isfinite(value) and value > 0 and
              math.log10(low) - SLACK_DECADES <= math.log10(value)
              <= math.log10(high) + SLACK_DECADES)


def matches(row: dict) -> dict:
  """For each feature of `MATCHES`, whether ``row`` matches the paper."""
  density = dict(random=row["density_random"], same_class=row["density_same_class"],
                 different_at_anchors=row["density_different_at_anchors"],
                 different_between=row["density_different_between"])
  return {
      "dip_at_anchors": bool(row["dip_ratio_high"] < 1),
      "same_class_lowest": bool(row["same_class_lowest"]),
      "denser_after_training": bool(row["disc_density_ratio_low"] > 1),
      "anchors_in_low_density": bool(row["anchors_below_share_low"] > 0.5),
      "jacobian_anchors": _within(row["jacobian_anchors_raw_pixels"], *PAPER_JACOBIAN["anchors"]),
      "jacobian_random": _within(row["jacobian_random_raw_pixels"], *PAPER_JACOBIAN["random"]),
      "density_values": all(
          math.isfinite(v) and v > 0 and abs(math.log(v / PAPER_DENSITY[k]))
          <= math.log(DENSITY_FACTOR) for k, v in density.items()),
  }


def run(cfg, ws):
  for dataset in cfg.datasets:
    rows = []
    for name, setting in chosen(cfg).items():
      runs = {kind: ws.network(f"fidelity_{kind}", overrides(
          cfg[kind].network.to_dict(), setting, cfg.checkpoints, dataset))
              for kind in ("trajectories", "regions")}
      data = {kind: region_maps.run_dataset(ws, r) for kind, r in runs.items()}
      for multiple in cfg.checkpoints:
        steps = {k: int(cfg[k].network.max_steps) * int(multiple) for k in runs}
        t_hist = _history(runs["trajectories"], steps["trajectories"])
        r_hist = _history(runs["regions"], steps["regions"])
        row = dict(dataset=dataset, setting=name, standardize=setting["standardize"],
                   full_training_set=setting["full_training_set"],
                   train_size_trajectories=len(data["trajectories"].x_train),
                   train_size_regions=len(data["regions"].x_train), budget_multiple=multiple,
                   step_trajectories=steps["trajectories"], step_regions=steps["regions"],
                   train_loss_trajectories=t_hist.get("train_loss", math.nan),
                   train_accuracy_trajectories=t_hist.get("train_accuracy", math.nan),
                   test_accuracy_trajectories=t_hist.get("test_accuracy", math.nan),
                   train_loss_regions=r_hist.get("train_loss", math.nan),
                   train_accuracy_regions=r_hist.get("train_accuracy", math.nan))
        row.update(trajectory_features(ws, dataset, runs["trajectories"],
                                       data["trajectories"], steps["trajectories"], cfg))
        row.update(region_features(ws, dataset, runs["regions"], data["regions"],
                                   steps["regions"], cfg))
        row.update({f"matches_{k}": v for k, v in matches(row).items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    export.analysis_table(ws, dataset, NAME, frame)
    draw(frame, ws.figure(NAME, dataset), dataset, cfg.preset)
  return [], []


def summary(frame: pd.DataFrame) -> list:
  """Per feature, the settings × checkpoints that match the paper (or none), from the table:
  the figure's caption."""
  out = []
  for feature in MATCHES:
    hit = frame[frame[f"matches_{feature}"]]
    where = ", ".join(f"{r.setting} at {r.budget_multiple}x" for r in hit.itertuples())
    out.append(f"{feature.replace('_', ' ')}: {where or 'no setting'}")
  return out


PANELS = (
    ("jacobian_anchors_raw_pixels", "mean ‖J‖ at the class anchors\n(per raw pixel in [0, 1])",
     "log", PAPER_JACOBIAN["anchors"]),
    ("jacobian_random_raw_pixels", "mean ‖J‖ on random ellipses\n(per raw pixel in [0, 1])",
     "log", PAPER_JACOBIAN["random"]),
    ("dip_ratio", "different-class density\nat / between the anchors", "linear", (60 / 165,) * 2),
    ("same_class_ratio", "same-class density /\nlowest other kind's", "linear", (50 / 140,) * 2),
    ("disc_density_ratio", "disc code-change density\nafter / before training", "log", None),
    ("train_loss_trajectories", "train loss at that length\n(trajectories network)", "log", None),
)


def draw(frame, path, dataset, preset):
  """Each feature against the training length (multiples of the budget), one line per
  setting; the paper's value or range shaded, the line a match must cross dashed."""
  frame = frame.assign(same_class_ratio=frame.density_same_class / np.minimum(
      frame.density_random, frame.density_different_class))
  fig, axes = figures.subplots(2, 3, width=3.6, height=3.0)
  for ax, (column, label, scale, paper) in zip(axes.ravel(), PANELS):
    (values,), floor = (figures.zero_floor(frame[column]) if scale == "log"
                        else ((frame[column],), None))
    for setting, rows in frame.assign(**{column: values}).groupby("setting", sort=False):
      ax.plot(rows.budget_multiple, rows[column], marker="o", label=setting.replace("_", " "))
    if floor is not None:
      figures.mark_floor(ax, floor)
    if paper is not None:
      ax.axhspan(paper[0], paper[1] * (1.02 if paper[0] == paper[1] else 1), color="0.85",
                 zorder=0, lw=1.5, ec="0.7")
    if column in ("dip_ratio", "same_class_ratio", "disc_density_ratio"):
      ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    if column == "train_loss_trajectories":
      ax.axhline(1e-8, color="0.4", lw=0.8, ls="--")
    positive = values[np.isfinite(values)] > 0
    if scale == "log" and positive.all() and positive.any():
      ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("training length (multiples of the budget)", fontsize=8)
    ax.set_ylabel(label, fontsize=8)
  figures.legend(axes[0, 0])
  figures.paper_note(axes[0, 0], "grey: the paper's value or range (MNIST Figures 2-3); "
                                 "dashed: the line a match must cross")
  figures.paper_note(axes[0, 0], "matches the paper: " + "; ".join(summary(frame)),
                     source="ours")
  figures.title(fig, NAME, dataset, f"{frame.setting.nunique()} settings × "
                f"{frame.budget_multiple.nunique()} training lengths", preset)
  return figures.save(fig, path)
