"""measures [beyond the paper]: where ‖J‖ and transitions rank among the generalization
measures of Jiang et al. (2020) and Dziugaite et al. (2020), on the surveys trained here.

For every network of the experiment's surveys (the random survey of each dataset, its
networks at 100% training accuracy, as in the correlation figure; the factorial grid, all
networks; the factor studies' fair pairs), the battery of `sensitivity_tf.measures` is
computed from its run directory (initial and final weights and its data; nothing is
retrained; cached in ``<run>/measures/battery.json``), then every measure is scored against
the generalization gap (`sensitivity_tf.measures.agreement`): Kendall τ on each random
survey and on the grid, granulated Ψ and the conditional mutual information on the grid,
the robust sign error over the fair pairs of the factor studies (environments: factors).

Writes ``measures/ranking.csv`` (one row per population and measure: every score with its
95% interval), ``measures/networks.csv`` (one row per network: hyperparameters, gap, every
measure, the battery's seconds per family and in total, and the network's training seconds)
and ``figures/measures.png|pdf``. The surveys are the same studies as those of the
correlation and factors experiments (same names and keys): run after them, this experiment
trains nothing.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd

from sensitivity_tf import measures
from sensitivity_tf.data import registry
from sensitivity_tf.measures import agreement
from sensitivity_tf.measures import battery
from sensitivity_tf.reproduce import figures
from sensitivity_tf.reproduce import growth
from sensitivity_tf.reproduce.experiments import factors as factors_lib
from sensitivity_tf.store import atomic

NAME = "measures"
CLAIMS = ()
HYPERPARAMETERS = ("depth", "width", "nonlinearity", "optimizer", "learning_rate", "batch_size",
                   "weight_scale", "random_label_fraction", "augment", "architecture")


def _batteries(ws, study, rows: pd.DataFrame, settings, population: str) -> pd.DataFrame:
  """``rows`` of ``study`` with every measure's value and the battery's seconds."""
  folder = ws.study_dir(study)
  records = []
  for row in rows.itertuples():
    record = battery.for_run(folder / row.run_dir, settings, ws.data_dir or None)
    records.append(dict(record["values"], battery_secs=record["total_secs"],
                        **{f"battery_{k}_secs": v for k, v in record["secs"].items()}))
  keep = ["trial_key", "study", "pair_id", "pair_factor", "pair_role", "dataset",
          *HYPERPARAMETERS, "train_accuracy", "test_accuracy", "generalization_gap",
          "train_wall_secs", "run_dir"]
  out = pd.concat([rows[[c for c in keep if c in rows]].reset_index(drop=True),
                   pd.DataFrame(records)], axis=1)
  out.insert(0, "population", population)
  return out


def _fair(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
  conv = growth.converged(rows)
  fair = conv.groupby("pair_id").pair_id.transform("size") == 2
  return conv[fair].reset_index(drop=True)


def _pairs_frame(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
  """One row per pair: the measure and the gap of its bad and good partners."""
  wide = frame.pivot_table(index=["pair_id", "pair_factor"], columns="pair_role",
                           values=[measure, "generalization_gap"], aggfunc="first")
  return pd.DataFrame(dict(environment=wide.index.get_level_values("pair_factor"),
                           measure_bad=wide[(measure, "bad")].to_numpy(),
                           measure_good=wide[(measure, "good")].to_numpy(),
                           gap_bad=wide[("generalization_gap", "bad")].to_numpy(),
                           gap_good=wide[("generalization_gap", "good")].to_numpy()))


def scores(frame: pd.DataFrame, kind: str, dataset: str, grid_factors, num_bootstrap: int,
           seed: int) -> list:
  """One row per measure: the scores that apply to the population ``kind``."""
  out = []
  for name, m in measures.MEASURES.items():
    row = dict(dataset=dataset, population=kind, measure=name, family=m.family,
               formula=m.formula, source=m.source, networks=len(frame))
    def put(prefix, est):
      row.update({prefix: est.value, f"{prefix}_low": est.low, f"{prefix}_high": est.high})
    if kind in ("random survey", "grid"):
      put("kendall_tau", agreement.kendall(frame[name], frame.generalization_gap,
                                           num_bootstrap, seed))
    if kind == "grid":
      finite = bool(np.isfinite(frame[name].astype(float)).all())
      if finite:
        put("psi", agreement.psi(frame, grid_factors, name, num_bootstrap=num_bootstrap,
                                 seed=seed)[0])
      size = min(2, len(grid_factors) - 1)
      est, where = agreement.cmi_estimate(frame, grid_factors, name, size,
                                          num_bootstrap=num_bootstrap, seed=seed)
      put("cmi", est)
      row["cmi_conditioning"] = ",".join(where)
    if kind == "factor pairs":
      pairs = _pairs_frame(frame, name)
      est = agreement.sign_error_estimates(pairs, registry.get_spec(dataset).num_test,
                                           num_bootstrap, seed)
      put("robust_sign_error", est["robust"])
      put("mean_sign_error", est["mean"])
      row["pairs"] = est["pairs"]
      row["sign_error_per_factor"] = "; ".join(
          f"{k} {v:.2f}" for k, v in est["per_environment"].items())
    out.append(row)
  return out


def validate(cfg) -> None:
  """One-line ConfigError, before any training, for a study whose networks would not keep
  the weights the battery reads (``keep="tables"`` deletes them once a row is written)."""
  from sensitivity_tf.train import train_config
  studies = dict(survey=cfg.survey, grid=cfg.grid,
                 **{f"pairs.{f}": cfg.pairs[f]
                    for f in factors_lib.chosen(cfg, allow_none=True)})
  for where, study in studies.items():
    if study.get("keep") != "all":
      raise train_config.ConfigError(
          f"{where}.keep={study.get('keep')!r} is invalid for the measures experiment; "
          "allowed: 'all' (the battery reads each network's saved initial and final weights)")


def run(cfg, ws):
  settings = battery.BatterySettings(**cfg.battery.to_dict()).validate()
  chosen = factors_lib.chosen(cfg, allow_none=True)
  pair_cfg = types.SimpleNamespace(growth=cfg.pair_growth, pairs=cfg.pairs)
  grid_factors = list(cfg.grid.grid.keys())
  populations = []  # (dataset, kind, study, rows to measure)
  for dataset in cfg.datasets:
    _, conv = growth.converged_survey(ws, cfg, dataset)
    populations.append((dataset, "random survey", growth.on_dataset(cfg.survey, dataset), conv))
    if dataset in cfg.grid_datasets:
      study = growth.on_dataset(cfg.grid, dataset)
      rows = ws.study(study)
      populations.append((dataset, "grid", study, rows[rows.status == "ok"]))
    for factor in chosen:
      study = growth.on_dataset(cfg.pairs[factor], dataset)
      rows = growth.grown_pairs(ws, pair_cfg, factor, dataset)
      populations.append((dataset, "factor pairs", study, _fair(rows, dataset)))
  figure_path = ws.figure(NAME)  # a dry run stops here: the battery is not planned work
  networks, ranking = [], []
  for dataset, kind, study, rows in populations:
    if not len(rows):
      ws.log(f"measures: {kind} on {dataset}: no network to measure")
      continue
    frame = _batteries(ws, study, rows, settings, kind)
    networks.append(frame)
    ws.log(f"measures: {kind} on {dataset}: {len(frame)} networks, battery "
           f"{frame.battery_secs.sum() / 60:.1f} min against training "
           f"{frame.train_wall_secs.sum() / 60:.1f} min")
    ranking.append(frame)
  by_population = {}
  for frame in ranking:
    key = (frame.dataset.iloc[0], frame.population.iloc[0])
    by_population[key] = pd.concat([by_population[key], frame]) if key in by_population else frame
  rows = [r for (dataset, kind), frame in by_population.items()
          for r in scores(frame.reset_index(drop=True), kind, dataset, grid_factors,
                          cfg.num_bootstrap, cfg.seed)]
  table = pd.DataFrame(rows)
  every = pd.concat(networks, ignore_index=True) if networks else pd.DataFrame()
  atomic.write_bytes(ws.path("measures", "ranking.csv"), table.to_csv(index=False).encode())
  atomic.write_bytes(ws.path("measures", "networks.csv"), every.to_csv(index=False).encode())
  draw(table, every, figure_path, cfg.preset)
  return [], []


SCORES = (("kendall_tau", "random survey", "Kendall τ with the gap\n(random survey, at 100%)"),
          ("psi", "grid", "granulated Kendall Ψ (grid)"),
          ("cmi", "grid", "conditional MI score (grid)"),
          ("robust_sign_error", "factor pairs", "robust sign error (fair factor pairs;\n"
           "lower is better)"))


def draw(table: pd.DataFrame, every: pd.DataFrame, path, preset: str):
  panels = [s for s in SCORES if len(table) and s[0] in table
            and table[table.population == s[1]][s[0]].notna().any()]
  fig, axes = figures.subplots(1, max(len(panels), 1), width=4.0, height=7.5)
  names = list(measures.MEASURES)
  colors = {"norm": "C0", "margin": "C1", "sharpness": "C2", "sensitivity": "C3"}
  y = np.arange(len(names))
  for ax, (column, population, label) in zip(axes[0], panels):
    part = table[table.population == population]
    datasets = list(dict.fromkeys(part.dataset))
    for k, dataset in enumerate(datasets):
      rows = part[part.dataset == dataset].set_index("measure").reindex(names)
      offset = (k - (len(datasets) - 1) / 2) * 0.25
      for i, name in enumerate(names):
        value = rows.loc[name, column]
        if not math.isfinite(value):
          continue
        low, high = rows.loc[name, f"{column}_low"], rows.loc[name, f"{column}_high"]
        ax.errorbar(value, i + offset, xerr=[[max(value - low, 0)], [max(high - value, 0)]]
                    if math.isfinite(low) else None, fmt="o", ms=3,
                    color=colors[measures.MEASURES[name].family], alpha=1 - 0.3 * k)
    ax.axvline(0 if column != "robust_sign_error" else 0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(label, fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.set_title(", ".join(datasets), fontsize=8)
  for family, color in colors.items():
    axes[0][0].plot([], [], "o", color=color, label=family)
  if panels:
    figures.legend(axes[0][0])
  n = len(every)
  train = every.train_wall_secs.sum() / 60 if n else 0.0
  cost = every.battery_secs.sum() / 60 if n else 0.0
  figures.paper_note(axes[0][0], f"battery {cost:.1f} min for {n} networks, against "
                     f"{train:.1f} min to train them; 95% bootstrap intervals", source="ours")
  figures.title(fig, NAME, ", ".join(dict.fromkeys(every.dataset)) if n else "no data",
                f"{n} networks", preset)
  return figures.save(fig, path)
