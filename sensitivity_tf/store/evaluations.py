"""Evaluations of run directories and model files, stored and cached.

`evaluate_run` (a run directory of ``bin/train``, its data rebuilt from its config) and
`evaluate_model_file` (a ``.keras`` file of any origin and a dataset) compute with
`sensitivity_tf.metrics.evaluation.evaluate` and hand the tables to
`sensitivity_tf.store.run_dir.SensitivityStore`, which writes ``points.parquet``,
``trajectory_jacobian.parquet``, ``trajectory_transitions.parquet`` and ``summary.json``
under ``<run>/sensitivity/`` (or ``<output_dir>/sensitivity/``), all four replacing the
previous evaluation at once, and serves them from cache for the same ``settings_id`` and
model file (SHA-256). Every table carries ``settings_id``, the hash of the settings, and the
full settings in its metadata."""

from __future__ import annotations
import json
import pathlib
from typing import Optional
import keras
import numpy as np
from sensitivity_tf.store import environment
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf import data as data_lib
from sensitivity_tf.data import Dataset
from sensitivity_tf.store.row_table import RowTable
from sensitivity_tf.metrics import evaluation


def summary_table(path) -> RowTable:
  """The table of per-model summaries that `evaluate_run` appends to."""
  return RowTable(path, evaluation.SUMMARY_SCHEMA, kind="sensitivity_summary")


def _cached(run: run_dir_lib.RunDirectory, settings: evaluation.EvaluationSettings) -> Optional[dict]:
  """The stored evaluation of ``run`` under ``settings``, if still valid (else None)."""
  return run_dir_lib.SensitivityStore(run.file(evaluation.SUBDIR)).cached(
      settings.settings_id, run_dir_lib.file_sha256(run.file(run_dir_lib.MODEL)))


def _store(store: run_dir_lib.SensitivityStore, tables, summary: dict,
           settings: evaluation.EvaluationSettings, table: Optional[RowTable], key: str) -> dict:
  points, traj_j, traj_t = tables
  store.write(points, traj_j, traj_t, summary, settings.describe())
  summary["cached"] = False
  _write_row(table, key, summary, settings)
  return summary


def _write_row(table: Optional[RowTable], key: str, summary: dict,
               settings: evaluation.EvaluationSettings) -> None:
  if table is not None:
    row = {k: summary.get(k) for k in evaluation.SUMMARY_SCHEMA.names}
    row["settings"] = json.dumps(summary["settings"], sort_keys=True)
    table.write_row(f"{key}|{settings.settings_id}", row)


def is_evaluated(run: run_dir_lib.RunDirectory, settings: evaluation.EvaluationSettings) -> bool:
  """Whether ``run`` holds a complete evaluation with ``settings`` of its current model."""
  return _cached(run, settings) is not None


def evaluate_run(run: run_dir_lib.RunDirectory, settings: evaluation.EvaluationSettings,
                 force: bool = False, data_dir: Optional[str] = None,
                 table: Optional[RowTable] = None, dataset: Optional[Dataset] = None,
                 model: Optional[keras.Model] = None, allow_other_data: bool = False) -> dict:
  """Evaluates a finished run directory (cached unless ``force``); returns the summary.

  ``dataset`` and ``model`` may be passed to skip loading them (they must be the run's).
  ``data_dir`` reads the run's dataset from elsewhere; data whose fingerprint differs from
  the one recorded at training time is refused (`run_dir.RunDirectory.check_same_data`)
  unless ``allow_other_data``. The summary records the data source and fingerprint used."""
  settings.validate()
  run.check_finished()
  store = run_dir_lib.SensitivityStore(run.file(evaluation.SUBDIR))
  model_sha256 = run_dir_lib.file_sha256(run.file(run_dir_lib.MODEL))
  key = str(run.path.resolve())
  summary = None if force else store.cached(settings.settings_id, model_sha256)
  if summary is not None and data_dir and summary.get("data_dir_override") != data_dir:
    summary = None  # evaluated on other data than asked for now
  if summary is not None:
    summary["cached"] = True
    _write_row(table, key, summary, settings)
    return summary
  cfg = run.train_config()
  if data_dir:
    cfg = cfg.replace(data_dir=data_dir)
  dataset = dataset or data_lib.load(**train_config.data_options(cfg))
  run.check_same_data(dataset, allow_other=allow_other_data)
  model = model or run.load_model()
  evaluation.check_evaluable(str(run.path), model, dataset, settings)
  points, traj_j, traj_t, summary = evaluation.evaluate(model, dataset, settings)
  metrics = run.metrics()
  summary.update(
      run_dir=str(run.path), dataset=cfg.dataset, data=dataset.describe(),
      settings=settings.describe(), model_sha256=model_sha256,
      train_accuracy=metrics["train_accuracy"], test_accuracy=metrics["test_accuracy"],
      generalization_gap=metrics["generalization_gap"], num_weights=metrics["num_weights"],
      stop_reason=metrics["stop_reason"], data_source=dataset.source,
      data_fingerprint=dataset.fingerprint, data_dir_override=data_dir or None,
      **environment.describe())
  return _store(store, (points, traj_j, traj_t), summary, settings, table, key)


def load_model_file(path) -> keras.Model:
  """A ``.keras`` model file of any origin (uncompiled); ModelFileError in one line."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise ModelFileError(f"model file {path} does not exist")
  try:
    return keras.saving.load_model(path, compile=False)
  except Exception as e:
    text = str(e).strip().splitlines()
    raise ModelFileError(f"{path}: cannot be loaded as a Keras model ({type(e).__name__}: "
                         f"{text[0] if text else ''})") from None


class ModelFileError(ValueError):
  """A model file that cannot be evaluated; the message is one line."""


def evaluate_model_file(model_path, dataset: Dataset, output_dir,
                        settings: evaluation.EvaluationSettings, force: bool = False,
                        table: Optional[RowTable] = None) -> dict:
  """Evaluates a model this project did not train, on ``dataset`` (its test split, an equal
  training subset, ellipses anchored by its labels), and stores the tables under
  ``<output_dir>/sensitivity/`` (cached unless ``force``); returns the summary.

  The summary records the model file's path and SHA-256 and the data's name, source,
  preprocessing and fingerprint. ‖J‖ is with respect to the inputs as given to the model:
  ``dataset``'s preprocessing (pixels/255, optional standardization) is part of it.
  """
  settings.validate()
  model_sha256 = run_dir_lib.file_sha256(model_path) if pathlib.Path(
      model_path).is_file() else None
  model = load_model_file(model_path)
  store = run_dir_lib.SensitivityStore(pathlib.Path(output_dir) / evaluation.SUBDIR)
  key = f"{pathlib.Path(model_path).resolve()}|{dataset.fingerprint}"
  summary = None if force else store.cached(settings.settings_id, model_sha256)
  if summary is not None and summary.get("data", {}).get("fingerprint") == dataset.fingerprint:
    summary["cached"] = True
    _write_row(table, key, summary, settings)
    return summary
  check_fits(model, dataset)
  evaluation.check_evaluable(str(model_path), model, dataset, settings)
  points, traj_j, traj_t, summary = evaluation.evaluate(model, dataset, settings)
  summary.update(
      model_file=str(model_path), model_sha256=model_sha256, dataset=dataset.name,
      data=dataset.describe(), settings=settings.describe(),
      num_weights=int(sum(np.prod(w.shape) for w in model.trainable_weights)),
      **environment.describe())
  return _store(store, (points, traj_j, traj_t), summary, settings, table, key)


def check_fits(model: keras.Model, dataset: Dataset) -> None:
  """ModelFileError (one line) unless the model takes the dataset's images and has at least
  as many outputs as it has classes."""
  shape = getattr(model, "inputs", None) and tuple(model.inputs[0].shape[1:])
  if shape and int(np.prod(shape)) != dataset.input_dim:
    raise ModelFileError(
        f"dataset {dataset.name} has images of shape {tuple(dataset.image_shape)} "
        f"({dataset.input_dim} values); model {model.name!r} takes inputs of shape {shape}")
  outputs = getattr(model, "outputs", None)
  if outputs and len(outputs) == 1 and len(outputs[0].shape) == 2 and (
      outputs[0].shape[1] or 0) < dataset.num_classes:
    raise ModelFileError(f"dataset {dataset.name} has {dataset.num_classes} classes; model "
                         f"{model.name!r} outputs {outputs[0].shape[1]}")
