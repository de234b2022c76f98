"""What a run needs before it starts (``--dry_run``): networks, evaluations, and their cost
estimated from wall times recorded on this machine.

A `Need` is one study or one single network: how many networks it trains (a growing study:
from its first size to its cap), how many are done already, how many evaluations it runs.

The estimate [ours] uses only what earlier runs on this machine recorded: the rows of the
survey tables found under the given directories (``train_wall_secs``, ``eval_wall_secs``)
and the ``metrics.json`` of single networks there.

* Training: seconds per unit of work, a unit being one example through one weight in one
  optimizer step (``steps x batch x weights``; full batch counts the training set), the
  median over recorded networks, times the units of every network still to train at its
  step cap. An upper bound where training stops before the cap.
* Evaluation: the median recorded seconds of evaluations with the same settings; none
  recorded with those settings means no evaluation estimate (said so, never guessed).

Without any recorded network there is no estimate, and the text says how to get one (run
the tiny preset, or a few networks of the study, first).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Dict, Iterable, List, Optional

import numpy as np
import pandas as pd

from sensitivity_tf import evaluation
from sensitivity_tf import models
from sensitivity_tf import run_dir as run_dir_lib
from sensitivity_tf.data import registry
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import results
from sensitivity_tf.survey import study as study_lib


@dataclasses.dataclass
class Need:
  """One study or single network of a run, as planned before it starts."""
  label: str                     # e.g. "study survey on mnist" or "network regions on mnist"
  configs: List[Dict]            # training config of every network it may train (all, done too)
  done: List[bool]               # per network: already trained (and evaluated, if it is)
  evaluated: bool                # whether each network is also evaluated
  settings_id: Optional[str]     # evaluation settings, when evaluated
  first: Optional[int] = None    # a growing study: networks before it grows (None: fixed)
  keys: List[str] = dataclasses.field(default_factory=list)  # a study's trial keys

  @property
  def total(self) -> int:
    return len(self.configs)

  @property
  def to_do(self) -> int:
    return self.total - sum(self.done)


def study_need(study: Dict, results_dir, first: Optional[int] = None) -> Need:
  """A study's need; ``first``: the size a growing study starts at."""
  settings = study_lib.evaluation_settings(study)
  trials = design_lib.build_trials(study, settings.settings_id)
  table = results.table(results_dir)
  return Need(f"study {study['name']} on {study['dataset']}", [t.config for t in trials],
              [table.has(t.key) for t in trials], True, settings.settings_id, first,
              [t.key for t in trials])


def network_need(label: str, cfg: Dict, path,
                 settings: Optional[evaluation.EvaluationSettings]) -> Need:
  run = run_dir_lib.RunDirectory(path)
  done = run.is_finished() and (settings is None or evaluation.is_evaluated(run, settings))
  return Need(label, [dict(cfg)], [done], settings is not None,
              settings.settings_id if settings else None)


def work_units(cfg: Dict) -> float:
  """Examples x weights x optimizer steps of a network trained to its step cap."""
  spec = registry.get_spec(cfg["dataset"])
  size = cfg.get("train_subset") or spec.num_train
  batch = cfg["batch_size"] if cfg["batch_size"] else size
  weights = models.count_weights(int(np.prod(spec.image_shape)), spec.num_classes,
                                 cfg["depth"], cfg["width"])
  return float(cfg["max_steps"]) * min(batch, size) * weights


@dataclasses.dataclass
class Recorded:
  """Wall times recorded on this machine (see the module docstring)."""
  secs_per_unit: List[float]
  eval_secs: Dict[str, List[float]]   # settings_id -> evaluation wall times
  sources: List[str]

  @classmethod
  def find(cls, directories: Iterable) -> "Recorded":
    per_unit, evals, sources = [], {}, set()
    for top in {pathlib.Path(d).resolve() for d in directories if pathlib.Path(d).is_dir()}:
      for table in top.glob("**/table"):
        if not table.is_dir() or not any(table.glob("*.parquet")):
          continue
        frame = results.table(table.parent).read()
        frame = frame[(frame.status == "ok") & (frame.train_wall_secs > 0) & (frame.steps > 0)]
        if frame.empty:
          continue
        sources.add(str(table.parent))
        for row in frame.to_dict("records"):
          per_unit.append(row["train_wall_secs"] / work_units(dict(row, max_steps=row["steps"])))
          if row.get("eval_wall_secs") and row.get("settings_id"):
            evals.setdefault(row["settings_id"], []).append(row["eval_wall_secs"])
      for metrics in top.glob("**/networks/*/metrics.json"):
        m = json.loads(metrics.read_text())
        cfg = json.loads((metrics.parent / "config.json").read_text()).get("config", {})
        if m.get("status") == "ok" and m.get("steps") and cfg:
          sources.add(str(metrics.parent))
          per_unit.append(m["wall_time_secs"] / work_units(dict(cfg, max_steps=m["steps"])))
    return cls(per_unit, evals, sorted(sources))


def summary(needs: List[Need], recorded: Recorded) -> str:
  """The dry-run text: one line per need, totals, and the estimate with its basis."""
  lines = []
  for n in needs:
    grow = (f" (at most; it starts with {n.first} and grows until enough fit)"
            if n.first is not None and n.first < n.total else "")
    lines.append(f"  {n.label}: {n.total} network{'s' if n.total != 1 else ''}{grow}, {n.total - n.to_do} done, "
                 f"{n.to_do} to train" + (" and evaluate" if n.evaluated else ""))
  to_train = sum(n.to_do for n in needs)
  to_eval = sum(n.to_do for n in needs if n.evaluated)
  lines.append(f"total: {sum(n.total for n in needs)} networks, {to_train} still to train, "
               f"{to_eval} evaluations still to run (at most)")
  if not to_train:
    lines.append("estimate: nothing to train; a run only re-analyses and redraws")
    return "\n".join(lines)
  if not recorded.secs_per_unit:
    lines.append("estimate: none: no finished network is recorded on this machine under the "
                 "results directories searched; run the tiny preset (or a few networks of "
                 "this study) first, then --dry_run again")
    return "\n".join(lines)
  rate = float(np.median(recorded.secs_per_unit))
  train = sum(rate * work_units(c) for n in needs for c, d in zip(n.configs, n.done) if not d)
  missing_eval = 0
  evaluate = 0.0
  for n in needs:
    if n.evaluated and n.to_do:
      times = recorded.eval_secs.get(n.settings_id)
      if times:
        evaluate += float(np.median(times)) * n.to_do
      else:
        missing_eval += n.to_do
  lines.append(
      f"estimate: training at most {_duration(train)} (every network to its step cap, at "
      f"the median rate of {len(recorded.secs_per_unit)} networks recorded on this machine: "
      f"{rate:.3g} s per example x weight x step), evaluation {_duration(evaluate)}"
      + (f" plus {missing_eval} evaluations with settings never recorded here (not estimated)"
         if missing_eval else "") + "; one process (divide by the number of workers)")
  lines.append("recorded runs used: " + ", ".join(recorded.sources[:5])
               + (f" and {len(recorded.sources) - 5} more" if len(recorded.sources) > 5 else ""))
  return "\n".join(lines)


def _duration(secs: float) -> str:
  if secs < 120:
    return f"{secs:.0f} s"
  if secs < 2 * 3600:
    return f"{secs / 60:.0f} min"
  if secs < 3 * 86400:
    return f"{secs / 3600:.1f} h"
  return f"{secs / 86400:.1f} days"
