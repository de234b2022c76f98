"""Evaluations of run directories and model files, stored and cached.

`evaluate_run` (a run directory of ``bin/train``, its data rebuilt from its config) and
`evaluate_model_file` (a ``.keras`` file of any origin and a dataset) compute with
`sensitivity_tf.metrics.evaluation.evaluate` and hand the tables to
`sensitivity_tf.store.run_dir.SensitivityStore`, which writes ``points.parquet``,
``trajectory_jacobian.parquet``, ``trajectory_transitions.parquet`` and ``summary.json``
under ``<run>/sensitivity/`` (or ``<output_dir>/sensitivity/``), all four replacing the
previous evaluation at once, and serves them from cache only for the same `evaluation_key`:
the model file (SHA-256), the data (fingerprint of its arrays), its preprocessing
(standardization, training subset, random labels, their seeds) and every evaluation
setting, i.e. everything that changes a number. Every table carries ``settings_id``, the
hash of the settings, and the full settings in its metadata."""

from __future__ import annotations
import dataclasses
import hashlib
import json
import zipfile
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


def evaluation_key(model_sha256: Optional[str], data_fingerprint: str, preprocessing: dict,
                   settings: evaluation.EvaluationSettings) -> str:
  """The cache key of an evaluation (16 hex digits of SHA-256): the model file's SHA-256,
  the data's fingerprint, its preprocessing options (`data.Dataset.options`) and every
  evaluation setting. A stored evaluation is reused only under the same key."""
  blob = json.dumps(dict(model_sha256=model_sha256, data_fingerprint=data_fingerprint or "",
                         preprocessing=preprocessing, settings=dataclasses.asdict(settings)),
                    sort_keys=True).encode()
  return hashlib.sha256(blob).hexdigest()[:16]


def _run_key(run: run_dir_lib.RunDirectory, cfg, settings: evaluation.EvaluationSettings,
             dataset: Optional[Dataset]) -> str:
  """`evaluation_key` of ``run``: of ``dataset`` when loaded, else of the data recorded at
  training time (which an evaluation without --data_dir or --allow_other_data must match)."""
  model_sha256 = run_dir_lib.file_sha256(run.file(run_dir_lib.MODEL))
  if dataset is not None:
    return evaluation_key(model_sha256, dataset.fingerprint, dataset.options, settings)
  preprocessing = data_lib.canonical_options(**train_config.preprocessing_options(cfg))
  return evaluation_key(model_sha256, run.config().get("data", {}).get("fingerprint", ""),
                        preprocessing, settings)


def _legacy_run_summary(run: run_dir_lib.RunDirectory, settings: evaluation.EvaluationSettings):
  """Accepts a run's summary written before cache keys existed when it is of this model
  file and settings, on the run's own data (no --data_dir): then nothing it depends on can
  differ (the run fixes the preprocessing)."""
  model_sha256 = run_dir_lib.file_sha256(run.file(run_dir_lib.MODEL))
  recorded = run.config().get("data", {}).get("fingerprint")
  return lambda summary: (
      summary.get("settings_id") == settings.settings_id
      and summary.get("model_sha256") == model_sha256 and not summary.get("data_dir_override")
      and summary.get("data", {}).get("fingerprint") == recorded)


def _run_config(run: run_dir_lib.RunDirectory, data_dir: Optional[str] = None):
  cfg = run.train_config()
  return cfg.replace(data_dir=data_dir) if data_dir else cfg


def _cached(run: run_dir_lib.RunDirectory, settings: evaluation.EvaluationSettings) -> Optional[dict]:
  """The stored evaluation of ``run`` under ``settings`` on its own data, if still valid
  (else None)."""
  return run_dir_lib.SensitivityStore(run.file(evaluation.SUBDIR)).cached(
      _run_key(run, _run_config(run), settings, None), _legacy_run_summary(run, settings))


def _store(store: run_dir_lib.SensitivityStore, tables, summary: dict,
           settings: evaluation.EvaluationSettings, table: Optional[RowTable], key: str,
           cache_key: str) -> dict:
  points, traj_j, traj_t = tables
  summary["cache_key"] = cache_key
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
  cfg = _run_config(run, data_dir)
  if dataset is None and (data_dir or allow_other_data):  # the key needs its fingerprint
    dataset = data_lib.load(**train_config.data_options(cfg))
  if dataset is not None:
    run.check_same_data(dataset, allow_other=allow_other_data)
  cache_key = _run_key(run, cfg, settings, dataset)
  summary = None if force else store.cached(
      cache_key, None if dataset is not None else _legacy_run_summary(run, settings))
  if summary is not None:
    summary["cached"] = True
    _write_row(table, key, summary, settings)
    return summary
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
  return _store(store, (points, traj_j, traj_t), summary, settings, table, key, cache_key)


def load_model_file(path) -> keras.Model:
  """A ``.keras`` or ``.h5`` model file of any origin (uncompiled); ModelFileError in one
  line saying what the path is: missing, a directory, damaged (a truncated ``.keras`` is
  not a complete zip archive: Keras itself would say "file not found"), or refused by
  Keras (its first line)."""
  path = pathlib.Path(path).expanduser()
  if path.is_dir():
    raise ModelFileError(f"model {path} is a directory; allowed: a .keras or .h5 model file")
  if not path.is_file():
    raise ModelFileError(f"model file {path} does not exist")
  if path.suffix == ".keras" and not zipfile.is_zipfile(path):
    raise ModelFileError(f"{path}: damaged or not a Keras model file (not a complete .keras "
                         "zip archive: truncated?)")
  try:
    return keras.saving.load_model(path, compile=False)
  except Exception as e:
    text = str(e).strip().splitlines()
    raise ModelFileError(f"{path}: damaged or not a Keras model file ({type(e).__name__}: "
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
  model_path = pathlib.Path(model_path).expanduser()
  model = load_model_file(model_path)
  model_sha256 = run_dir_lib.file_sha256(model_path)
  store = run_dir_lib.SensitivityStore(pathlib.Path(output_dir).expanduser() / evaluation.SUBDIR)
  key = f"{model_path.resolve()}|{dataset.fingerprint}"
  cache_key = evaluation_key(model_sha256, dataset.fingerprint, dataset.options, settings)
  summary = None if force else store.cached(cache_key)
  if summary is not None:
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
  return _store(store, (points, traj_j, traj_t), summary, settings, table, key, cache_key)


def check_fits(model: keras.Model, dataset: Dataset) -> None:
  """ModelFileError (one line) unless the model takes the dataset's images in their layout
  and has at least as many outputs as it has classes. Images are (height, width, channels),
  channels last; a model input must be that shape, the same without a trailing channel of
  1, or flat (all values, row-major): never a reshape that moves values, such as a
  channels-first (3, 32, 32) model on (32, 32, 3) images [ours, docs/data.md]."""
  inputs = getattr(model, "inputs", None)
  image = tuple(int(d) for d in dataset.image_shape)
  if inputs:
    shape = tuple(inputs[0].shape[1:])
    if any(d is None for d in shape):
      raise ModelFileError(f"model {model.name!r} takes inputs of shape {shape}, whose sizes "
                           f"are unknown; allowed: a fixed input shape (build the model on "
                           f"keras.Input({image}))")
    allowed = [image] + ([image[:-1]] if image[-1] == 1 else []) + [(dataset.input_dim,)]
    if tuple(int(d) for d in shape) not in allowed:
      raise ModelFileError(
          f"model {model.name!r} takes inputs of shape {shape} but the data holds images of "
          f"shape {image}; allowed: a model input of shape "
          f"{' or '.join(str(a) for a in allowed)} (images are height x width x channels, "
          "channels last)")
  outputs = getattr(model, "outputs", None)
  if outputs and len(outputs) == 1 and len(outputs[0].shape) == 2 and (
      outputs[0].shape[1] or 0) < dataset.num_classes:
    raise ModelFileError(f"dataset {dataset.name} has {dataset.num_classes} classes; model "
                         f"{model.name!r} outputs {outputs[0].shape[1]}")
