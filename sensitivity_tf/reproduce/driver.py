"""Runs registered experiments and writes the claims report.

Each experiment's claim rows go to ``claims/<experiment>.json`` in the workspace (and its
extra entries, such as the Kendall τ / Ψ tables, to ``claims/<experiment>_extra.json``);
``claims.md`` and ``claims.json`` are rebuilt from all of them after every run, so the report
always covers every experiment run so far at that preset. The report records the code version
and, per dataset, the kind of data source and its fingerprint; no local path.
"""

from __future__ import annotations

import json
import math
import time
from typing import Dict, List

from sensitivity_tf import atomic
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce.experiments import EXPERIMENTS
from sensitivity_tf.reproduce.workspace import Workspace


def validate_config(cfg) -> None:
  """One-line ConfigError for an experiment config that cannot run."""
  from sensitivity_tf import train_config
  from sensitivity_tf.data import registry
  if cfg.experiment not in EXPERIMENTS:
    raise train_config.ConfigError(f"experiment={cfg.experiment!r} is invalid; allowed: "
                                   f"{', '.join(EXPERIMENTS)}")
  for d in cfg.datasets:
    if d not in registry.DATASETS:
      raise train_config.ConfigError(f"dataset={d!r} is invalid; allowed: "
                                     f"{', '.join(registry.DATASETS)}")
  def check_int(name: str, low: int) -> None:
    value = cfg.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
      raise train_config.ConfigError(f"{name}={value!r} is invalid; allowed: an integer >= {low}")
  check_int("num_bootstrap", 1)  # before any training, not when the claims are computed
  check_int("seed", 0)
  for name, low in (("num_slices", 1), ("resolution", 2)):
    if name in cfg:
      check_int(name, low)
  from sensitivity_tf.reproduce import studies
  from sensitivity_tf.survey import study as study_lib
  surveys = [cfg[k] for k in ("survey", "grid") if k in cfg]
  surveys += list(cfg.pairs.values()) if "pairs" in cfg else []
  for survey in surveys:  # each on every dataset the experiment runs
    for d in cfg.datasets:
      study_lib.validate(studies.on_dataset(survey, d))
  if "network" in cfg:
    net = train_config.default_config()
    net.update(cfg.network.to_dict())
    for d in cfg.datasets:
      net.dataset = d
      train_config.validate(net)
  if "evaluation" in cfg:
    from sensitivity_tf import evaluation
    evaluation.EvaluationSettings(**cfg.evaluation.to_dict()).validate()


def run_experiment(name: str, cfg, ws: Workspace) -> Dict:
  module = EXPERIMENTS[name]
  start = time.time()
  results, extras = module.run(cfg, ws)
  claims_lib.write_results(ws.path("claims", f"{name}.json"), results)
  atomic.write_json(ws.path("claims", f"{name}_extra.json"), extras)
  write_report(ws)
  return dict(experiment=name, results=results, wall_secs=time.time() - start)


def _format_extra(entry: dict) -> List[str]:
  lines = [f"### {entry['dataset']}: {entry['population']} ({entry['n']} networks)", "",
           "| measure | Kendall τ with the gap | granulated Kendall Ψ |", "|---|---|---|"]
  psi = entry["psi"]

  def num(v, spec: str) -> str:  # read back from strict JSON: null where it was NaN
    return "n/a" if v is None or math.isnan(v) else format(v, spec)
  for measure, tau in entry["kendall"].items():
    cell = ("refused" if "refused" in psi
            else f"{num(psi[measure]['psi'], '.3f')} (" + ", ".join(
                f"ψ_{k} {num(v, '.2f')}" for k, v in psi[measure].items() if k != "psi") + ")")
    lines.append(f"| {measure} | {num(tau, '.3f')} | {cell} |")
  if "refused" in psi:
    lines += ["", f"Ψ refused: {psi['refused']}."]
  return lines + [""]


def report_provenance(ws: Workspace, results: List[dict]) -> dict:
  """What the report was computed with: the code's version and, for every dataset it has
  claims on, the kind of data source and its fingerprint (never a local path)."""
  from sensitivity_tf import environment
  from sensitivity_tf.data import registry
  names = sorted({r["dataset"] for r in results if r["dataset"] in registry.DATASETS})
  return dict(code=environment.code_version(),
              data={n: environment.data_provenance(n, ws.data_dir) for n in names})


def provenance_notes(provenance: dict) -> List[str]:
  from sensitivity_tf import environment
  notes = [f"Code: {environment.code_version_text(provenance['code'])}."]
  for name, data in provenance["data"].items():
    notes.append(f"Data, {name}: source `{data['source']}`, fingerprint (SHA-256 of the "
                 f"arrays, 16 hex digits) `{data['fingerprint'] or 'none'}`.")
    if name == "cifar10" and "jpeg" in data["source"].lower():
      notes.append("CIFAR-10 here is a JPEG quality-75 copy: results are close to, not equal "
                   "to, results on the original bytes.")
  return notes


def write_report(ws: Workspace) -> None:
  paths = sorted(p for p in ws.path("claims", "x").parent.glob("*.json")
                 if not p.name.endswith("_extra.json"))
  results = claims_lib.read_results(paths)
  provenance = report_provenance(ws, results)
  text = claims_lib.markdown(results, ws.preset, provenance_notes(provenance))
  extra_paths = sorted(ws.path("claims", "x").parent.glob("*_extra.json"))
  extras = [e for p in extra_paths for e in atomic.read_json(p)]
  if extras:
    text += ("\n## Beyond the paper: Kendall τ and granulated Kendall Ψ (Jiang et al. 2020)\n\n"
             "τ between each measure and the generalization gap over the networks; Ψ, the mean "
             "over varied hyperparameters of the per-hyperparameter τ with all others fixed, "
             "only where the networks form a complete grid.\n\n")
    for entry in extras:
      text += "\n".join(_format_extra(entry)) + "\n"
  atomic.write_bytes(ws.path("claims.md"), text.encode())
  atomic.write_bytes(ws.path("claims.json"),
                     json.dumps(dict(preset=ws.preset, claims=results, extras=extras,
                                     provenance=provenance),
                                indent=2, sort_keys=True, default=float).encode())
