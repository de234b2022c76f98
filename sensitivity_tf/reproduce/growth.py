"""How an experiment runs the surveys its config names: growing a survey until enough of its
networks reached 100% training accuracy, or a factor study until enough of its pairs are
fair (both partners at 100%). The surveys themselves come from the experiment's config
(``configs/_common.py`` builds them); nothing here changes what they train."""

from __future__ import annotations

import pandas as pd

from sensitivity_tf.train import training
from sensitivity_tf.data import registry


def on_dataset(study, dataset: str) -> dict:
  """The config's study, run on ``dataset`` (its ``per_dataset`` entries then apply)."""
  return dict(study.to_dict() if hasattr(study, "to_dict") else study, dataset=dataset)


def converged(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
  """Networks whose final weights reached 100% training accuracy (99.9% with 100 classes):
  the population of the paper's correlation figures."""
  threshold = training.fit_threshold(registry.get_spec(dataset).num_classes)
  return rows[(rows.status == "ok") & (rows.train_accuracy >= threshold)].reset_index(drop=True)


def converged_survey(ws, cfg, dataset: str):
  """``cfg.survey`` on ``dataset``, grown by ``cfg.growth`` until enough networks reached
  100%; returns (all rows, those at 100%)."""
  growth = cfg.growth
  rows = ws.grow_study(on_dataset(cfg.survey, dataset), "num_models",
                       enough=lambda r: len(converged(r, dataset)) >= growth.min_converged,
                       maximum=growth.max_models, step=growth.step)
  return rows, converged(rows, dataset)


def fair_pairs_count(rows: pd.DataFrame, dataset: str) -> int:
  """Pairs whose two partners both reached 100% training accuracy."""
  conv = converged(rows, dataset)
  return int((conv.groupby("pair_id").size() == 2).sum()) if len(conv) else 0


def grown_pairs(ws, cfg, factor: str, dataset: str) -> pd.DataFrame:
  """The factor study ``cfg.pairs[factor]`` on ``dataset``, grown by ``cfg.growth`` (more
  pairs drawn from the same space, never another space) until enough pairs are fair."""
  growth = cfg.growth
  return ws.grow_study(on_dataset(cfg.pairs[factor], dataset), "num_pairs",
                       enough=lambda r: fair_pairs_count(r, dataset) >= growth.min_fair,
                       maximum=growth.max_pairs, step=growth.step)
