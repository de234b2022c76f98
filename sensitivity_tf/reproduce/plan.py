"""``bin/reproduce --dry_run``: what the chosen experiments need, found by running their own
code against a workspace that trains nothing.

`PlanningWorkspace` answers an experiment's requests from what is on disk, and writes
nothing:

* a study gives the rows already in its table; a growing study grows as a run would while
  its rows are complete, and where they are not it is planned at its cap, the most it may
  grow to (saying where it starts and how far toward its goal the rows there are: "grows
  until 20 fair pairs (8 so far)");
* a single network is recorded, and ends that experiment's planning on that dataset
  (nothing downstream of an untrained network can be computed);
* drawing a figure ends it too (the analysis before it is cheap, the drawing is not needed).

Each experiment is planned one dataset at a time, so one dataset's network never hides
another's. Knowing nothing of which studies exist, it follows whatever the experiments ask.
"""

from __future__ import annotations

import copy
import json
from typing import Dict, List, Optional

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.reproduce.experiments import EXPERIMENTS
from sensitivity_tf.reproduce.workspace import Workspace
from sensitivity_tf.survey import cost
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import jobs as jobs_lib
from sensitivity_tf.survey import results as results_lib


class _Stop(Exception):
  """Planning cannot (or need not) go further in this experiment on this dataset."""


class PlanningWorkspace(Workspace):
  """A `Workspace` that records needs instead of training (see the module docstring)."""

  def __init__(self, root, preset: str, data_dir: Optional[str] = None):
    super().__init__(root, preset, data_dir=data_dir, progress=False, log=lambda m: None)
    self.needs: Dict[str, cost.Need] = {}
    self.memo: Dict[str, tuple] = {}
    self.notes: List[str] = []

  def path(self, *parts):
    return self.root.joinpath(*parts)  # creates nothing

  def figure(self, experiment: str, dataset: Optional[str] = None):
    raise _Stop()

  def _planned(self, s: dict):
    """(need, rows there) of the study ``s``, recorded under its folder (the largest size
    asked for wins)."""
    folder = self.study_dir(s).relative_to(self.root).as_posix()
    memo = json.dumps(s, sort_keys=True, default=str)
    if memo not in self.memo:  # experiments share studies; building trials takes seconds
      need = cost.study_need(s, self.root / folder)
      frame = results_lib.table(self.root / folder).read()
      self.memo[memo] = (need, frame[frame.trial_key.isin(need.keys)].reset_index(drop=True))
    need, rows = self.memo[memo]
    if folder not in self.needs or need.total > self.needs[folder].total:
      self.needs[folder] = need
    return need, rows

  def study(self, study):
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    return self._planned(s)[1]

  def grow_study(self, study, size_field: str, goal, maximum: int, step: int):
    """Grows as a run would, size by size, while the rows there are complete: the first size
    whose rows reach ``goal`` (or the cap) is the study's need. A size with networks still to
    train ends what can be known, so the study is then planned at its cap (the most it may
    grow to), with where it starts and the goal's progress so far."""
    s = study.to_dict() if hasattr(study, "to_dict") else dict(study)
    s["data_dir"] = s.get("data_dir") or self.data_dir
    first, rows = self._planned(s)
    need = first
    while not goal.reached(rows):
      if need.to_do:  # what the run finds after training these is not known: the cap
        most, rows = self._planned(dict(s, **{size_field: maximum}))
        most.first, most.until = first.total, goal.until(rows)
        return rows
      if s[size_field] >= maximum:
        break
      s[size_field] = min(maximum, s[size_field] + step)
      need, rows = self._planned(s)
    return rows

  def network(self, name: str, overrides: dict,
              settings: Optional[evaluation.EvaluationSettings] = None):
    cfg = jobs_lib.network_config(overrides, self.data_dir)
    folder = f"{cfg.dataset}/networks/{name}-{design_lib.training_key(cfg)}"
    self.needs[folder] = cost.network_need(f"network {name} on {cfg.dataset}", cfg.to_dict(),
                                           self.root / folder, settings)
    raise _Stop()


def plan(configs: Dict[str, object], root, data_dir: Optional[str] = None
         ) -> PlanningWorkspace:
  """Plans the experiments ``configs`` (name -> config) in the workspace ``root``."""
  preset = next(iter(configs.values())).preset
  ws = PlanningWorkspace(root, preset, data_dir)
  for name, cfg in configs.items():
    for dataset in cfg.datasets:
      one = copy.deepcopy(cfg)
      one.datasets = [dataset]
      try:
        EXPERIMENTS[name].run(one, ws)
      except _Stop:
        pass
      except Exception as e:  # noqa: BLE001 (an analysis of partial rows may fail)
        ws.notes.append(f"{name} on {dataset}: planning stopped at {type(e).__name__} in "
                        "its analysis of the rows so far; it may need more than listed")
  return ws


def _counted(needs: Dict[str, cost.Need]) -> str:
  """'2 studies and 1 single network': what the folders planned hold, counted apart."""
  singles = sum("/networks/" in folder for folder in needs)
  studies = len(needs) - singles
  return (f"{studies} {'study' if studies == 1 else 'studies'} and {singles} single "
          f"{'network' if singles == 1 else 'networks'}")


def summary(configs: Dict[str, object], root, data_dir: Optional[str] = None,
            search=()) -> str:
  """The dry-run text for a reproduction: needs, totals, estimate (see `survey.cost`)."""
  ws = plan(configs, root, data_dir)
  needs = list(ws.needs.values())
  recorded = cost.Recorded.find([root, *search])
  header = (f"dry run: {', '.join(configs)} at preset {ws.preset} in {ws.root} "
            f"({_counted(ws.needs)})")
  return "\n".join([header, cost.summary(needs, recorded), *ws.notes])
