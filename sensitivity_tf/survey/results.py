"""The survey's results table: one row per network, the truth about a survey.

A `RowTable` (one Parquet file per row, written atomically, keyed by the trial key) under
``<results_dir>/table/``; ``pandas.read_parquet(<results_dir>/table)`` reads it whole. A row
holds the trial's identity (key, index, pair), every training hyperparameter and seed, the
final train/test loss and accuracy, generalization gap, number of weights, steps, wall
times, stop reason, whether the final network reached the target accuracy
(``reached_target``) and the step, epoch, train loss and wall time of its first fit (null
if it never fit), the sensitivity summary (Jacobian norms on test and train points and
along ellipses, transitions) with the settings they were computed with, and the trial's
status (``run_dir`` is relative to the results directory): ``ok``, ``diverged`` (training hit a non-finite loss; not evaluated) or ``failed``
(an exception; ``message`` says which).
"""

from __future__ import annotations

import pyarrow as pa

from sensitivity_tf.metrics import evaluation
from sensitivity_tf.train import train_config
from sensitivity_tf.store.row_table import RowTable

STATUSES = ("ok", "diverged", "failed")


def _arrow_type(default):
  if isinstance(default, bool):
    return pa.bool_()
  if isinstance(default, int):
    return pa.int64()
  if isinstance(default, float):
    return pa.float64()
  return pa.string()


TRIAL_FIELDS = [("trial_key", pa.string()), ("study", pa.string()), ("trial_index", pa.int64()),
                ("pair_id", pa.string()), ("pair_factor", pa.string()), ("pair_role", pa.string()),
                ("status", pa.string()), ("message", pa.string())]
HYPERPARAMETER_FIELDS = [(name, _arrow_type(default))
                         for name, (default, _) in train_config.FIELDS.items()
                         if name in train_config.IDENTITY_FIELDS]
METRIC_FIELDS = [("train_loss", pa.float64()), ("train_accuracy", pa.float64()),
                 ("test_loss", pa.float64()), ("test_accuracy", pa.float64()),
                 ("generalization_gap", pa.float64()), ("num_weights", pa.int64()),
                 ("steps", pa.int64()), ("epochs", pa.float64()), ("stop_reason", pa.string()),
                 ("reached_target", pa.bool_()), ("first_fit_step", pa.int64()),
                 ("first_fit_epoch", pa.float64()), ("first_fit_train_loss", pa.float64()),
                 ("first_fit_wall_secs", pa.float64())]
TIMING_FIELDS = [("train_wall_secs", pa.float64()), ("eval_wall_secs", pa.float64()),
                 ("total_wall_secs", pa.float64()), ("worker", pa.string()),
                 ("finished_at", pa.string()), ("run_dir", pa.string())]
SENSITIVITY_FIELDS = ([("settings_id", pa.string()), ("settings", pa.string()),
                       ("piecewise_linear", pa.bool_()), ("jacobian_route", pa.string())]
                      + evaluation.SUMMARY_METRICS)

SCHEMA = pa.schema(TRIAL_FIELDS + HYPERPARAMETER_FIELDS + METRIC_FIELDS + TIMING_FIELDS
                   + SENSITIVITY_FIELDS)


def table(results_dir) -> RowTable:
  import pathlib
  return RowTable(pathlib.Path(results_dir) / "table", SCHEMA, kind="survey")
