"""What a run needs before it starts (``--dry_run``): networks, evaluations, and their cost
estimated from wall times recorded on this machine.

A `Need` is one study or one single network: how many networks it trains (a growing study:
from its first size to its cap), how many are done already, how many evaluations it runs.

The estimate [ours] uses only what earlier runs on this machine recorded: the rows of the
survey tables found under the given directories (``train_wall_secs``, ``eval_wall_secs``)
and the ``metrics.json`` of single networks there.

* Training: seconds per optimizer step = a + b x (batch x weights) (a fixed cost per step,
  plus one proportional to the multiply-adds; full batch counts the training set), fitted by
  least squares (coefficients kept >= 0) to the recorded networks. ``at most``: every
  network still to train runs to its step cap; ``likely``: each stops at the median share of
  its cap that the recorded networks used.
* Evaluation: the median recorded seconds of evaluations with the same settings; none
  recorded with those settings means no evaluation estimate (said so, never guessed).

Without any recorded network there is no estimate, and the text says how to get one (run
the tiny preset, or a few networks of the study, first). Timings from small networks
extrapolate poorly to much larger ones: the text names the runs it used.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Dict, Iterable, List, Optional

import numpy as np

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.networks import models
from sensitivity_tf.store import run_dir as run_dir_lib
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
  until: str = "enough fit"      # a growing study's goal and progress: "20 fair pairs (8 so far)"

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
              [table.has(t.key) for t in trials], True, settings.settings_id, first=first,
              keys=[t.key for t in trials])


def network_need(label: str, cfg: Dict, path,
                 settings: Optional[evaluation.EvaluationSettings]) -> Need:
  run = run_dir_lib.RunDirectory(path)
  done = run.is_finished() and (settings is None or evaluations.is_evaluated(run, settings))
  return Need(label, [dict(cfg)], [done], settings is not None,
              settings.settings_id if settings else None)


def batch_weights(cfg: Dict) -> float:
  """Examples per optimizer step x number of weights (full batch: the training set)."""
  spec = registry.get_spec(cfg["dataset"])
  size = cfg.get("train_subset") or spec.num_train
  batch = min(cfg["batch_size"], size) if cfg["batch_size"] else size
  return float(batch) * models.count_weights(int(np.prod(spec.image_shape)), spec.num_classes,
                                             cfg["depth"], cfg["width"])


@dataclasses.dataclass
class Recorded:
  """Wall times recorded on this machine (see the module docstring)."""
  step_secs: List[float] = dataclasses.field(default_factory=list)      # per optimizer step
  batch_weights: List[float] = dataclasses.field(default_factory=list)
  cap_share: List[float] = dataclasses.field(default_factory=list)      # steps / max_steps
  eval_secs: Dict[str, List[float]] = dataclasses.field(default_factory=dict)
  sources: List[str] = dataclasses.field(default_factory=list)

  def add(self, cfg: Dict, train_secs: float, steps: int, source: str) -> None:
    self.step_secs.append(train_secs / steps)
    self.batch_weights.append(batch_weights(cfg))
    self.cap_share.append(min(steps / cfg["max_steps"], 1.0) if cfg.get("max_steps") else 1.0)
    if source not in self.sources:
      self.sources.append(source)

  @classmethod
  def find(cls, directories: Iterable) -> "Recorded":
    out = cls()
    for top in sorted({pathlib.Path(d).resolve() for d in directories
                       if pathlib.Path(d).is_dir()}):
      for table in sorted(top.glob("**/table")):
        if not table.is_dir() or not any(table.glob("*.parquet")):
          continue
        frame = results.table(table.parent).read()
        frame = frame[(frame.status == "ok") & (frame.train_wall_secs > 0) & (frame.steps > 0)]
        for row in frame.to_dict("records"):
          out.add(row, row["train_wall_secs"], row["steps"], str(table.parent))
          if row.get("eval_wall_secs") and row.get("settings_id"):
            out.eval_secs.setdefault(row["settings_id"], []).append(row["eval_wall_secs"])
      for metrics in sorted(top.glob("**/networks/*/metrics.json")):
        m = json.loads(metrics.read_text())
        cfg = json.loads((metrics.parent / "config.json").read_text()).get("config", {})
        if m.get("status") == "ok" and m.get("steps") and cfg:
          out.add(cfg, m["wall_time_secs"], m["steps"], str(metrics.parent))
    return out

  def step_model(self):
    """(a, b): seconds per step = a + b x batch_weights, least squares with a, b >= 0."""
    y, x = np.asarray(self.step_secs), np.asarray(self.batch_weights)
    if len(y) >= 2 and np.ptp(x) > 0:
      b, a = np.polyfit(x, y, 1)
      if a >= 0 and b >= 0:
        return float(a), float(b)
      if b < 0:
        return float(np.median(y)), 0.0
    return 0.0, float(np.median(y / x))


def estimate(needs: List[Need], recorded: Recorded) -> Dict[str, float]:
  """Seconds in one process: training ``at_most`` (to the step caps) and ``likely``
  (times ``share``), ``evaluate`` (settings recorded here), and ``missing_eval``
  evaluations whose settings were never recorded; with the step model's ``a``, ``b``."""
  a, b = recorded.step_model()
  todo = [c for n in needs for c, d in zip(n.configs, n.done) if not d]
  at_most = sum(c["max_steps"] * (a + b * batch_weights(c)) for c in todo)
  share = float(np.median(recorded.cap_share))
  missing_eval, evaluate = 0, 0.0
  for n in needs:
    if n.evaluated and n.to_do:
      times = recorded.eval_secs.get(n.settings_id)
      if times:
        evaluate += float(np.median(times)) * n.to_do
      else:
        missing_eval += n.to_do
  return dict(a=a, b=b, share=share, at_most=at_most, likely=at_most * share,
              evaluate=evaluate, missing_eval=missing_eval)


def summary(needs: List[Need], recorded: Recorded) -> str:
  """The dry-run text: one line per need, totals, and the estimate with its basis."""
  lines = []
  for n in needs:
    grow = (f" (at most; it starts with {n.first} and grows until {n.until})"
            if n.first is not None and n.first < n.total else "")
    lines.append(f"  {n.label}: {n.total} network{'s' if n.total != 1 else ''}{grow}, "
                 f"{n.total - n.to_do} done, {n.to_do} to train"
                 + (" and evaluate" if n.evaluated else ""))
  to_train = sum(n.to_do for n in needs)
  to_eval = sum(n.to_do for n in needs if n.evaluated)
  lines.append(f"total: {sum(n.total for n in needs)} networks, {to_train} still to train, "
               f"{to_eval} evaluations still to run (at most)")
  if not to_train:
    lines.append("estimate: nothing to train; a run only re-analyses and redraws")
    return "\n".join(lines)
  if not recorded.step_secs:
    lines.append("estimate: none: no finished network is recorded on this machine under the "
                 "results directories searched; run the tiny preset (or a few networks of "
                 "this study) first, then --dry_run again")
    return "\n".join(lines)
  e = estimate(needs, recorded)
  a, b, share = e["a"], e["b"], e["share"]
  at_most, evaluate, missing_eval = e["at_most"], e["evaluate"], e["missing_eval"]
  lines.append(
      f"estimate, one process (divide by the number of workers): training at most "
      f"{_duration(at_most)} (every network to its step cap), likely {_duration(at_most * share)} "
      f"(stopping at {share:.0%} of the cap, the median of the recorded networks); evaluation "
      f"{_duration(evaluate)}" + (f" plus {missing_eval} evaluations with settings never "
                                  "recorded here (not estimated)" if missing_eval else ""))
  lines.append(f"basis: {len(recorded.step_secs)} networks recorded on this machine, seconds per "
               f"step = {a:.3g} + {b:.3g} x batch x weights; from " + ", ".join(
                   recorded.sources[:3]) + (f" and {len(recorded.sources) - 3} more"
                                            if len(recorded.sources) > 3 else ""))
  return "\n".join(lines)


def _duration(secs: float) -> str:
  if secs < 120:
    return f"{secs:.0f} s"
  if secs < 2 * 3600:
    return f"{secs / 60:.0f} min"
  if secs < 3 * 86400:
    return f"{secs / 3600:.1f} h"
  return f"{secs / 86400:.1f} days"
