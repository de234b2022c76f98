"""A survey table as TensorBoard's HParams dashboard: one TensorBoard run per network.

`export_table` writes, under ``log_dir``, the experiment's configuration (which
hyperparameters and metrics there are, with their domains) and one run per row
(``<log_dir>/<trial_key>``, or the row's position without a ``trial_key`` column) holding
the row's hyperparameter values and its metrics as scalars at step 0, through
``tensorboard.plugins.hparams.api``. Then ``tensorboard --logdir <log_dir>`` shows the
survey in the HParams tab: the table view, parallel coordinates (say, depth and width
against the gap and ‖J‖) and scatter plots.

Domains: a hyperparameter with at most ``max_discrete`` distinct values (or any non-numeric
one) is discrete; a numeric one with more (a learning rate drawn log-uniformly) is a real
interval from its minimum to its maximum. NaN metrics (a diverged network's) are not
written. Hyperparameters default to the survey's varied training fields, metrics to the
gap, the accuracies, ‖J‖, transitions and the weight norm (those present).

`export_workspace` does it for every study of a ``bin/reproduce`` workspace
(``<log_dir>/<dataset>/<study folder>``): ``bin/reproduce --tensorboard_dir``.
"""

from __future__ import annotations

import math
import pathlib
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from sensitivity_tf.survey import results as results_lib

HYPERPARAMETERS = ("depth", "width", "nonlinearity", "optimizer", "learning_rate",
                   "batch_size", "weight_scale", "bias_scale", "random_label_fraction",
                   "augment", "architecture", "seed", "pair_factor", "pair_role")
METRICS = ("generalization_gap", "train_accuracy", "test_accuracy", "train_loss",
           "jacobian_test_mean", "jacobian_train_mean", "test_point_transitions_mean",
           "weight_norm", "num_weights")


def _python(value):
  """A NumPy scalar as the bool, int, float or str the HParams API takes."""
  if isinstance(value, (np.bool_, bool)):
    return bool(value)
  if isinstance(value, (np.integer, int)):
    return int(value)
  if isinstance(value, (np.floating, float)):
    return float(value)
  return str(value)


def _domain(values: pd.Series, max_discrete: int):
  distinct = sorted({_python(v) for v in values.dropna()}, key=str)
  numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
  if numeric and len(distinct) > max_discrete:
    return hp.RealInterval(float(values.min()), float(values.max()))
  return hp.Discrete(distinct)


def export_table(frame: pd.DataFrame, log_dir, hparams: Optional[Sequence[str]] = None,
                 metrics: Optional[Sequence[str]] = None, max_discrete: int = 12) -> List[str]:
  """Writes ``frame`` (one row per network) under ``log_dir``; returns the run names."""
  log_dir = pathlib.Path(log_dir)
  if hparams is None:
    hparams = [h for h in HYPERPARAMETERS if h in frame and frame[h].nunique() > 1]
  if metrics is None:
    metrics = [m for m in METRICS if m in frame]
  missing = [c for c in [*hparams, *metrics] if c not in frame]
  if missing:
    raise ValueError(f"column {missing[0]!r} is not in the table; allowed: "
                     f"{', '.join(frame.columns)}")
  params = {h: hp.HParam(h, _domain(frame[h], max_discrete)) for h in hparams}
  with tf.summary.create_file_writer(str(log_dir)).as_default():
    hp.hparams_config(hparams=list(params.values()),
                      metrics=[hp.Metric(m, display_name=m) for m in metrics])
  names = []
  for position, row in enumerate(frame.itertuples(index=False)):
    row = row._asdict()
    name = str(row.get("trial_key") or position)
    with tf.summary.create_file_writer(str(log_dir / name)).as_default():
      hp.hparams({params[h]: _python(row[h]) for h in hparams if not pd.isna(row[h])},
                 trial_id=name)
      for m in metrics:
        value = row[m]
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
          tf.summary.scalar(m, float(value), step=0)
    names.append(name)
  return names


def export_workspace(ws_root, log_dir) -> List[str]:
  """Every study table of the workspace ``ws_root`` under ``<log_dir>/<dataset>/<study>``;
  returns those folders, relative to ``log_dir``."""
  from sensitivity_tf.reproduce import export
  written = []
  for table in export.study_tables(ws_root):
    study_dir = table.parent
    frame = results_lib.table(study_dir).read()
    rel = pathlib.Path(study_dir.parent.parent.name, study_dir.name)
    export_table(frame, pathlib.Path(log_dir) / rel)
    written.append(rel.as_posix())
  return written
