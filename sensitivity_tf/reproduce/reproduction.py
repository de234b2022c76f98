"""Runs registered experiments and writes the claims report, in one process, across
keras-tuner workers, or across local worker processes.

`reproduce` runs the chosen experiments in this process's role: a worker
(``KERASTUNER_TUNER_ID=worker0``, ...) runs the jobs its chief hands out, refusing a chief whose
experiments or settings differ from its own (`identity`), and exits when told to stop; any
other process runs the experiments with its executor (`survey.execution`): itself, as a chief
(``KERASTUNER_TUNER_ID=chief``) handing every trial and single network to the workers, or
as the chief of ``--local_workers`` processes it starts; either way it analyses and draws from
the tables the jobs write. Since every job is cached on disk, a later single-process run of
the same command finds everything done and only re-analyses and redraws.

Each experiment's claim rows go to ``claims/<experiment>.json`` in the workspace (and its
extra entries, such as the Kendall τ / Ψ tables, to ``claims/<experiment>_extra.json``);
``claims.md`` and ``claims.json`` are rebuilt from all of them after every run, so the report
always covers every experiment run so far at that preset. The report records the code version
and, per dataset, the kind of data source and its fingerprint; no local path.
"""

from __future__ import annotations

import math
import pathlib
import time
from typing import Callable, Dict, List, Optional

from sensitivity_tf.store import atomic
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce.experiments import EXPERIMENTS
from sensitivity_tf.reproduce.workspace import Workspace
from sensitivity_tf.survey import execution
from sensitivity_tf.survey import tuner as tuner_lib


def validate_config(cfg) -> None:
  """One-line ConfigError for an experiment config that cannot run."""
  from sensitivity_tf.train import train_config
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
  from sensitivity_tf.reproduce import growth
  from sensitivity_tf.survey import study as study_lib
  surveys = [cfg[k] for k in ("survey", "grid") if k in cfg]
  if "pairs" in cfg:
    from sensitivity_tf.reproduce.experiments import factors
    surveys += [cfg.pairs[f] for f in factors.chosen(cfg,
                                                     allow_none=cfg.experiment != "factors")]
  for survey in surveys:  # each on every dataset the experiment runs
    for d in cfg.datasets:
      study_lib.validate(growth.on_dataset(survey, d))
  if "network" in cfg:
    for d in cfg.datasets:
      train_config.TrainConfig.from_mapping(cfg.network.to_dict(), dataset=d)
  if "battery" in cfg:
    from sensitivity_tf.measures import battery
    battery.BatterySettings(**cfg.battery.to_dict()).validate()
  if "evaluation" in cfg:
    from sensitivity_tf.metrics import evaluation
    evaluation.EvaluationSettings(**cfg.evaluation.to_dict()).validate()
  if hasattr(EXPERIMENTS[cfg.experiment], "validate"):
    EXPERIMENTS[cfg.experiment].validate(cfg)


def claimed_datasets(path) -> List[str]:
  """The datasets that the claim rows in ``path`` (a ``claims/<experiment>.json``) rest on,
  read from their labels (``mnist``, ``mnist (true labels only)``; pooled rows such as ``all
  datasets run`` name none); [] when there is no such file."""
  from sensitivity_tf.data import registry
  if not pathlib.Path(path).is_file():
    return []
  labels = {row["dataset"].split(" ")[0] for row in atomic.read_json(path)}
  return sorted(labels & set(registry.DATASETS))


def replaced_text(name: str, before: List[str], now: List[str]) -> str:
  """A line for the log when this run's claims of experiment ``name`` (on ``now``) replace
  rows of datasets it did not run (``before``): the report then has only ``now``'s; '' when
  nothing is dropped."""
  dropped = sorted(set(before) - set(now))
  if not dropped:
    return ""
  every = ",".join(sorted(set(before) | set(now)))
  return (f"note: {name}'s claims now rest on {', '.join(now)} only; its earlier rows on "
          f"{', '.join(dropped)} are no longer in claims.md (nothing trained is lost: "
          f"--experiment={name} --dataset={every} re-analyses them all)")


def run_experiment(name: str, cfg, ws: Workspace) -> Dict:
  module = EXPERIMENTS[name]
  start = time.time()
  results, extras = module.run(cfg, ws)
  before = claimed_datasets(ws.path("claims", f"{name}.json"))
  claims_lib.write_results(ws.path("claims", f"{name}.json"), results)
  note = replaced_text(name, before, claimed_datasets(ws.path("claims", f"{name}.json")))
  if note:
    ws.log(note)
  atomic.write_json(ws.path("claims", f"{name}_extra.json"), extras)
  write_report(ws)
  return dict(experiment=name, results=results, wall_secs=time.time() - start)


def identity(configs: Dict[str, object]) -> str:
  """What chief and workers of one reproduction must agree on: the experiments and every
  field of their configs (not where each machine keeps its data)."""
  first = next(iter(configs.values()))
  datasets = sorted({d for c in configs.values() for d in c.datasets})
  label = (f"reproduce {', '.join(configs)} at preset {first.preset} on "
           f"{', '.join(datasets)}")
  return tuner_lib.identity(label, dict(kind="reproduce", experiments={
      name: cfg.to_dict() for name, cfg in configs.items()}))


def reproduce(configs: Dict[str, object], root, data_dir: Optional[str] = None,
              progress: bool = True, log: Callable[[str], None] = print,
              on_experiment: Callable[[Dict], None] = lambda out: None,
              chief_timeout_secs: float = 300.0, worker_grace_secs: float = 30.0,
              reassign_after_secs: float = tuner_lib.REASSIGN_AFTER_SECS,
              local_workers: int = 0) -> Dict:
  """Runs the experiments ``configs`` (name -> config, in order) into the workspace
  ``root`` in this process's role (a keras-tuner worker, or the executor of
  `execution.open_executor`: one process, a chief, a chief with ``local_workers`` worker
  processes); ``on_experiment`` gets each experiment's outcome as it finishes. Returns
  dict(role, workspace (None on a worker), jobs_run (on a worker))."""
  preset = next(iter(configs.values())).preset
  if execution.is_worker():
    ran = execution.work(root, identity(configs), data_dir or "", chief_timeout_secs)
    return dict(role="worker", workspace=None, jobs_run=ran)
  with execution.open_executor(root, identity(configs), local_workers, data_dir or "", log,
                               reassign_after_secs, worker_grace_secs,
                               chief_timeout_secs) as executor:
    ws = Workspace(root, preset, data_dir=data_dir, progress=progress, log=log,
                   executor=executor)
    for name, cfg in configs.items():
      on_experiment(run_experiment(name, cfg, ws))
  return dict(role=executor.role, workspace=ws, jobs_run=None)


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
  from sensitivity_tf.store import environment
  from sensitivity_tf.data import registry
  names = sorted({r["dataset"] for r in results if r["dataset"] in registry.DATASETS})
  return dict(code=environment.code_version(),
              data={n: environment.data_provenance(n, ws.data_dir) for n in names})


def provenance_notes(provenance: dict) -> List[str]:
  from sensitivity_tf.store import environment
  notes = [f"Code: {environment.code_version_text(provenance['code'])}."]
  for name, data in provenance["data"].items():
    notes.append(f"Data, {name}: source `{data['source']}`, fingerprint (SHA-256 of the "
                 f"arrays, 16 hex digits) `{data['fingerprint'] or 'none'}`.")
    if name == "cifar10" and "jpeg" in data["source"].lower():
      notes.append("CIFAR-10 here is a JPEG quality-75 copy: results are close to, not equal "
                   "to, results on the original bytes.")
  return notes


SECOND_SEED = "second_seed_claims.json"


def record_second_seed(root, other_dir) -> str:
  """Keeps the claims of ``other_dir`` (a reproduction of the same experiments under a second
  seed, e.g. ``--config.seed=1``) in the workspace ``root``, so every report marks the
  verdicts that differ there as borderline (`claims.mark_second_seed`); returns its label.
  One-line ValueError when ``other_dir`` holds no claims.json."""
  source = pathlib.Path(other_dir, "claims.json")
  if not source.is_file():
    raise ValueError(f"second_seed_dir={other_dir!r} is invalid; allowed: a reproduction's "
                     "results directory holding claims.json")
  label = pathlib.Path(other_dir).resolve().name
  target = pathlib.Path(root, SECOND_SEED)
  target.parent.mkdir(parents=True, exist_ok=True)
  atomic.write_json(target, dict(label=label, claims=atomic.read_json(source)["claims"]))
  return label


def write_report(ws: Workspace) -> None:
  paths = sorted(p for p in ws.path("claims", "x").parent.glob("*.json")
                 if not p.name.endswith("_extra.json"))
  results = claims_lib.read_results(paths)
  if ws.path(SECOND_SEED).is_file():
    other = atomic.read_json(ws.path(SECOND_SEED))
    results = claims_lib.mark_second_seed(results, other["claims"], other["label"])
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
  # Strict JSON (null where a statistic is NaN), like every other JSON file we write.
  atomic.write_json(ws.path("claims.json"), dict(preset=ws.preset, claims=results,
                                                 extras=extras, provenance=provenance))
