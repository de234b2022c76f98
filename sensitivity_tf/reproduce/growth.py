"""How an experiment runs the surveys its config names: growing a survey until enough of its
networks reached 100% training accuracy, or a factor study until enough of its pairs are
fair (both partners at 100%). The surveys themselves come from the experiment's config
(``configs/_common.py`` builds them); nothing here changes what they train.

Whether a network "fits" (reached 100% training accuracy; 99.9% with 100 classes) is read
from its row's ``reached_target``, which training recorded for the final weights against the
run's own target (`train.training.fit_threshold` when the target is auto): `fits` is the one
place an experiment decides it, never a threshold of its own.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import pandas as pd


@dataclasses.dataclass(frozen=True)
class Goal:
  """What a growing study grows toward: ``needed`` of ``unit`` (e.g. 20 "fair pairs"), as
  ``count`` counts them in the study's rows. A run logs it when it grows and a dry run
  prints it, so a long study says how far it is, not only that it is not there yet."""
  count: Callable[[pd.DataFrame], int]
  needed: int
  unit: str

  def reached(self, rows: pd.DataFrame) -> bool:
    return self.count(rows) >= self.needed

  def progress(self, rows: pd.DataFrame) -> str:
    """'8 of 20 fair pairs' (what a run logs when it grows)."""
    return f"{self.count(rows)} of {self.needed} {self.unit}"

  def until(self, rows: pd.DataFrame) -> str:
    """'20 fair pairs (8 so far)' (what a dry run says a study grows until)."""
    return f"{self.needed} {self.unit} ({self.count(rows)} so far)"


def fits(rows: pd.DataFrame, role: str = "") -> pd.Series:
  """Whether each network's final weights reached the target accuracy, as its row says
  (``reached_target``; a diverged or failed network does not fit). ``role``: read the
  columns of one partner of a paired frame (``reached_target_<role>``, ``status_<role>``)."""
  suffix = f"_{role}" if role else ""
  reached = rows[f"reached_target{suffix}"].eq(True)
  status = f"status{suffix}"
  return reached & rows[status].eq("ok") if status in rows else reached


def on_dataset(study, dataset: str) -> dict:
  """The config's study, run on ``dataset`` (its ``per_dataset`` entries then apply)."""
  return dict(study.to_dict() if hasattr(study, "to_dict") else study, dataset=dataset)


def converged(rows: pd.DataFrame) -> pd.DataFrame:
  """Networks whose final weights reached 100% training accuracy (99.9% with 100 classes;
  `fits`): the population of the paper's correlation figures."""
  return rows[fits(rows)].reset_index(drop=True)


def converged_survey(ws, cfg, dataset: str):
  """``cfg.survey`` on ``dataset``, grown by ``cfg.growth`` until enough networks reached
  100%; returns (all rows, those at 100%)."""
  growth = cfg.growth
  goal = Goal(lambda r: len(converged(r)), growth.min_converged, "networks at 100%")
  rows = ws.grow_study(on_dataset(cfg.survey, dataset), "num_models", goal,
                       maximum=growth.max_models, step=growth.step)
  return rows, converged(rows)


def fair_pairs_count(rows: pd.DataFrame) -> int:
  """Pairs whose two partners both reached 100% training accuracy."""
  conv = converged(rows)
  return int((conv.groupby("pair_id").size() == 2).sum()) if len(conv) else 0


def grown_pairs(ws, cfg, factor: str, dataset: str) -> pd.DataFrame:
  """The factor study ``cfg.pairs[factor]`` on ``dataset``, grown by ``cfg.growth`` (more
  pairs drawn from the same space, never another space) until enough pairs are fair."""
  growth = cfg.growth
  goal = Goal(fair_pairs_count, growth.min_fair, "fair pairs")
  return ws.grow_study(on_dataset(cfg.pairs[factor], dataset), "num_pairs", goal,
                       maximum=growth.max_pairs, step=growth.step)
