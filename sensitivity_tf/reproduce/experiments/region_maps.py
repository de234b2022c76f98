"""regions: 2-D slices through three training points, each pixel coloured by the code of the
last hidden layer, before and after training (claim C5). Writes the per-slice and per-anchor
tables behind C5 (`per_slice`, `per_anchor`) to ``<dataset>/tables/`` of the workspace."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sensitivity_tf.store import atomic
from sensitivity_tf.metrics import regions as regions_lib
from sensitivity_tf.metrics import trajectories as trajectories_lib
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import export
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import statistics
from sensitivity_tf.reproduce.experiments import trajectory_profiles
from matplotlib import patches  # noqa: E402  (after figures, which picks the backend)

NAME = "regions"
CLAIMS = ("C5",)
PAPER = ("Figure 3 (MNIST; no count given): after training the last layer's boundaries are "
         "much denser and highly anisotropic, with the training points in regions of lower "
         "transition density")


def run_dataset(ws, run):
  """The data a run directory trained on, rebuilt from its config (the workspace's data
  directory where the run recorded none)."""
  return run.load_dataset(data_dir=run.train_config().data_dir or ws.data_dir)


def measure(ds, models: dict, num_slices: int, resolution: int, seed: int,
            images: bool = True) -> dict:
  """Last-layer code images of each of ``models`` (``{"before": initial, "after": trained}``,
  or one of them) on ``num_slices`` slices through three training points of different
  classes (drawn from ``seed``, so the same slices on every call): per slice and model the
  region count, the code-change density within 0.1 R of each anchor and over the disc, the
  anchors' plane coordinates and R; the images themselves too unless ``images`` is False."""
  rng = np.random.default_rng([seed, 5])
  out = {"anchors_uv": [], "radius": []}
  for when in models:
    out.update({when: [], f"near_{when}": [], f"avg_{when}": [], f"regions_{when}": []})
  for _ in range(num_slices):
    idx = trajectories_lib.class_anchors(ds.y_train_true, False, rng)
    s = regions_lib.Slice.through(*ds.x_train[idx], resolution=resolution)
    for when, model in models.items():
      image = regions_lib.code_image(model, s)
      near, average = regions_lib.density_ratio(image, s)
      out[when].append(image)
      out[f"regions_{when}"].append(len(np.unique(image)))
      out[f"near_{when}"].append(near)
      out[f"avg_{when}"].append(average)
    out["anchors_uv"].append(s.anchors_uv)
    out["radius"].append(s.radius)
  if not images:
    for when in models:
      del out[when]
  return {k: np.asarray(v) for k, v in out.items()}


def compute(cfg, ws, dataset):
  """Region images before and after training on ``cfg.num_slices`` slices; cached as one
  .npz table (so redrawing never recomputes, let alone retrains)."""
  run = ws.network("regions", dict(cfg.network.to_dict(), dataset=dataset))
  # Named by the network's run directory too: another network never reuses these images.
  path = ws.path(dataset, "tables", f"regions_{run.path.name}_r{cfg.resolution}_"
                 f"n{cfg.num_slices}_s{cfg.seed}.npz")
  if path.is_file():
    with np.load(path) as f:
      return dict(f), run
  ds = run_dataset(ws, run)
  out = measure(ds, {"before": run.initial_model(), "after": run.load_model()},
                cfg.num_slices, cfg.resolution, cfg.seed)
  atomic.write_npz(path, **out)
  return out, run


def per_slice(data) -> pd.DataFrame:
  """One row per slice: code-change density over the disc of radius R before and after
  training (boundary pixels per unit input area) and their ratio, and, where the images are
  at hand, the number of last-layer regions in the window before and after."""
  out = pd.DataFrame(dict(slice=np.arange(len(data["avg_after"])),
                          disc_density_before=data["avg_before"],
                          disc_density_after=data["avg_after"]))
  out["disc_density_ratio"] = out.disc_density_after / out.disc_density_before
  for when in ("before", "after"):
    if f"regions_{when}" in data:
      out[f"regions_{when}"] = data[f"regions_{when}"]
    elif when in data:  # tables cached before the counts were kept
      out[f"regions_{when}"] = [len(np.unique(image)) for image in data[when]]
  if "radius" in data:
    out["radius"] = data["radius"]
  return out


def per_anchor(data) -> pd.DataFrame:
  """One row per anchor of every slice: code-change density within 0.1 R of it before and
  after training, and each as a ratio to its slice's disc density (C5's first part)."""
  slices, anchors = data["near_after"].shape
  out = pd.DataFrame(dict(slice=np.repeat(np.arange(slices), anchors),
                          anchor=np.tile(np.arange(anchors), slices)))
  for when in ("before", "after"):
    near = np.asarray(data[f"near_{when}"])
    out[f"near_density_{when}"] = near.ravel()
    out[f"near_ratio_{when}"] = (near / np.asarray(data[f"avg_{when}"])[:, None]).ravel()
  return out


def shape_note(slices: pd.DataFrame, denser) -> str:
  """Whether training made the boundaries denser, as the paper's Figure 3 shows."""
  text = f"disc code-change density after / before training {denser.text()}"
  if "regions_before" in slices:
    text += (f", regions per slice {slices.regions_before.mean():.0f} before and "
             f"{slices.regions_after.mean():.0f} after")
  if not math.isfinite(denser.value):
    return text
  return text + (": denser after training, as in the paper" if denser.value > 1
                 else ": sparser after training, where the paper's get denser")


def analyze_dataset(dataset, data, num_bootstrap=1000, seed=0):
  """C5 on the slices of one network (``data`` as `compute` returns it)."""
  anchors = per_anchor(data)
  slices = per_slice(data)
  after, before = anchors.near_ratio_after.values, anchors.near_ratio_before.values
  share = statistics.binomial_interval(int((after < 1).sum()), len(after))
  denser = statistics.paired_ratio(slices.disc_density_after, slices.disc_density_before,
                                   num_bootstrap, seed)
  lines = claims_lib.Lines()
  old = claims_lib.above(share, 0.5) and float(np.mean(before)) >= 0.9
  condition = all([lines.above(share, 0.5, "share of anchors below their disc"),
                   float(np.mean(before)) >= 0.9,
                   lines.above(denser, 1.0, "disc density after / before training")])
  return claims_lib.judged(
      "C5", dataset, f"near-anchor / disc code-change density: after training mean "
      f"{after.mean():.2f}, share of anchors below 1 {share.text()}; before training mean "
      f"{before.mean():.2f}; " + shape_note(slices, denser),
      dict(after=after.tolist(), before=before.tolist(), share_below=share.as_dict(),
           denser_after_training=denser.as_dict()), len(after), "anchors",
      condition, f"{NAME}_{dataset}", PAPER,
      old_verdict=claims_lib.verdict(old, len(after), "anchors"), lines=lines)


def run(cfg, ws):
  results = []
  for dataset in cfg.datasets:
    data, run_dir = compute(cfg, ws, dataset)
    result = analyze_dataset(dataset, data, cfg.num_bootstrap, cfg.seed)
    export.analysis_table(ws, dataset, "regions_per_slice", per_slice(data))
    export.analysis_table(ws, dataset, "regions_per_anchor", per_anchor(data))
    metrics = run_dir.metrics()
    text = trajectory_profiles.fit_text(metrics)
    results.append(result if metrics.get("reached_target") else claims_lib.withheld(result, text))
    denser = statistics.Estimate(**result.values["denser_after_training"])
    draw(data, ws.figure(NAME, dataset), dataset, cfg.preset, f"1 network, {text}",
         shape_note(per_slice(data), denser))
  return results, []


def _colors(image):
  rng = np.random.default_rng(0)
  palette = rng.random((int(image.max()) + 1, 3)) * 0.75 + 0.2
  return palette[image]


def draw(data, path, dataset, preset, network_text, shape=""):
  fig, axes = figures.subplots(1, 2, width=4.0, height=4.0)
  radius = float(data["radius"][0])
  half = 1.3 * radius
  for ax, when in zip(axes[0], ("before", "after")):
    image = data[when][0]
    ax.imshow(_colors(image), extent=(-half, half, half, -half), interpolation="nearest")
    anchors = data["anchors_uv"][0]
    ax.scatter(anchors[:, 0], anchors[:, 1], c="k", s=18, marker="o")
    for au, av in anchors:
      ax.add_patch(patches.Circle((au, av), 0.1 * radius, fill=False,
                                                          lw=0.8, color="k"))
    ax.add_patch(patches.Circle((0, 0), radius, fill=False, lw=0.8,
                                                        ls="--", color="k"))
    ratio = (data[f"near_{when}"][0] / data[f"avg_{when}"][0]).mean()
    ax.set_title(f"{when} training: {len(np.unique(image))} regions; near-anchor / disc "
                 f"density {ratio:.2f}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
  figures.paper_note(axes[0, 1], PAPER)
  counts = {w: np.mean([len(np.unique(im)) for im in data[w]]) for w in ("before", "after")}
  figures.paper_note(axes[0, 1], f"mean regions per slice {counts['before']:.0f} before, "
                                 f"{counts['after']:.0f} after training (last-layer codes, "
                                 f"{len(data['after'])} slices)", source="ours")
  if shape:
    figures.paper_note(axes[0, 1], shape, source="shape vs the paper")
  slices = len(data["after"])
  figures.title(fig, NAME, dataset, f"{network_text}, last-layer codes, slice 1 of {slices}",
                preset)
  return figures.save(fig, path)
