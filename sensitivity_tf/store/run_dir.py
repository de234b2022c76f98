"""The run directory: what one training run leaves behind, and how to read it back.

Layout (every file written atomically; ``metrics.json`` last, so its presence means the
run finished):

=========================  ==================================================================
``config.json``            every hyperparameter and seed, the data source actually used and
                           its fingerprint, effective batch size, the code version (git
                           commit and dirty flag, or the package version), library
                           versions, machine, command line
``initial.weights.h5``     the weights at initialization (Keras ``save_weights`` format)
``model.keras``            the trained model (Keras 3 format; reload with `load_model`)
``metrics.json``           final loss/accuracy on the full train and test sets, generalization
                           gap, number of weights, steps, epochs, wall time, stop reason
``history.csv``            one row per evaluation (see `training.Evaluation`)
``tensorboard/``           the same history as TensorBoard scalars
``checkpoint/``            the latest training checkpoint of an unfinished run (removed at
                           the end); the same command resumes from it
``claim.json``             only while a process trains into it: host, pid and heartbeat of
                           that process (`run_claim`); a second process is refused meanwhile
``sensitivity/``           the sensitivity tables of `sensitivity_tf.metrics.evaluation`, stored by
                           `SensitivityStore`
=========================  ==================================================================

`SensitivityStore` is where computed sensitivity tables are *stored* (computing them is
`sensitivity_tf.metrics.evaluation`'s job): four files in one directory (``<run>/sensitivity/`` or
the ``--output_dir`` of an evaluation of any model file), replaced together or not at all,
and served from cache under the same cache key (model file, data, preprocessing, settings).
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
from typing import List, Optional

import keras
import pandas as pd

from sensitivity_tf.store import atomic
from sensitivity_tf.train import training

CONFIG = "config.json"
METRICS = "metrics.json"
MODEL = "model.keras"
INITIAL_WEIGHTS = "initial.weights.h5"
HISTORY = "history.csv"
TENSORBOARD = "tensorboard"
CHECKPOINT = "checkpoint"
SNAPSHOTS = "snapshots"  # weights at the config's snapshot_steps: snapshots/step_<n>.weights.h5


SENSITIVITY = "sensitivity"
POINTS = "points.parquet"
TRAJECTORY_JACOBIAN = "trajectory_jacobian.parquet"
TRAJECTORY_TRANSITIONS = "trajectory_transitions.parquet"
SUMMARY = "summary.json"


class RunDirError(ValueError):
  """A run directory that is missing, unfinished or broken (one-line message)."""


class RunDirectory:
  """A run directory on disk (see the module docstring for its files)."""

  def __init__(self, path):
    self.path = pathlib.Path(path).expanduser()  # '~/x' is the home's x, never a folder '~'

  def file(self, name: str) -> pathlib.Path:
    return self.path / name

  # ------------------------------------------------------------------ state
  def exists(self) -> bool:
    return self.file(CONFIG).is_file()

  def is_finished(self) -> bool:
    return self.file(METRICS).is_file() and self.file(MODEL).is_file()

  def check_finished(self) -> "RunDirectory":
    """Raises RunDirError unless this is a finished run directory."""
    if not self.path.is_dir():
      raise RunDirError(f"{self.path}: no such run directory")
    if not self.exists():
      raise RunDirError(f"{self.path}: not a run directory (no {CONFIG}); "
                        "expected the --output_dir of bin/train")
    if self.file(METRICS).is_file() and not self.file(MODEL).is_file():
      raise RunDirError(f"{self.path}: finished, but its model is not kept (a study with "
                        "keep='tables' deletes it once its row is written); rerun the study "
                        "with keep='all' to keep it")
    if not self.is_finished():
      raise RunDirError(f"{self.path}: training has not finished (no {METRICS} or {MODEL}); "
                        "rerun the same bin/train command to resume it")
    return self

  # ------------------------------------------------------------------ reading
  def _read_json(self, name: str) -> dict:
    try:
      return atomic.read_json(self.file(name))
    except FileNotFoundError:
      raise RunDirError(f"{self.file(name)}: missing") from None
    except ValueError as e:
      raise RunDirError(f"{self.file(name)}: not valid JSON ({e})") from None

  def config(self) -> dict:
    return self._read_json(CONFIG)

  def metrics(self) -> dict:
    return self._read_json(METRICS)

  def train_config(self):
    """The run's `sensitivity_tf.train.train_config.TrainConfig`, from ``config.json``."""
    from sensitivity_tf.train import train_config  # the store layer reads what train wrote
    return train_config.TrainConfig.from_mapping(self.config()["config"])

  def load_dataset(self, data_dir: Optional[str] = None):
    """The run's dataset as it trained on it (its own data source, or ``data_dir``)."""
    from sensitivity_tf import data
    cfg = self.train_config()
    return data.load(**cfg.replace(data_dir=data_dir or cfg.data_dir).data_options())

  def initial_model(self) -> keras.Model:
    """The network at initialization: the trained model with its saved initial weights."""
    model = self.load_model()
    model.load_weights(self.file(INITIAL_WEIGHTS))
    return model

  def check_same_data(self, dataset, allow_other: bool = False) -> None:
    """Raises RunDirError if ``dataset`` (a `data.Dataset`) is not the data this run was
    trained on: its fingerprint differs from the one recorded in ``config.json`` (runs from
    before fingerprints were recorded are not checked). ``allow_other`` lets it through."""
    recorded = self.config().get("data", {})
    expected = recorded.get("fingerprint")
    if allow_other or not expected or not dataset.fingerprint or expected == dataset.fingerprint:
      return
    raise RunDirError(
        f"{self.path} was trained on data with fingerprint {expected} "
        f"({recorded.get('source')}), but {dataset.source} has fingerprint "
        f"{dataset.fingerprint}: another dataset or another copy of it; pass "
        "--allow_other_data to evaluate on it anyway")

  def load_model(self) -> keras.Model:
    path = self.file(MODEL)
    if not path.is_file():
      raise RunDirError(f"{path}: missing; rerun the bin/train command to finish the run")
    try:
      return keras.saving.load_model(path, compile=False)
    except Exception as e:  # keras says "File not found" for a truncated file: say what it is
      raise RunDirError(f"{path}: damaged or not a Keras model ({type(e).__name__}); retrain "
                        "with the same bin/train command and --overwrite") from None

  def history(self) -> List[training.Evaluation]:
    path = self.file(HISTORY)
    if not path.is_file():
      return []
    try:
      frame = pd.read_csv(path)
      return [training.Evaluation(**row) for row in frame.to_dict("records")]
    except Exception as e:  # noqa: BLE001 (pandas raises many kinds) never dropped silently
      raise RunDirError(f"{path}: cannot be read ({type(e).__name__}); the training history "
                        "would be lost: restore the file, or rerun with --overwrite to train "
                        "from scratch") from None

  # ------------------------------------------------------------------ writing
  def write_config(self, config: dict) -> None:
    atomic.write_json(self.file(CONFIG), config)

  def write_metrics(self, metrics: dict) -> None:
    atomic.write_json(self.file(METRICS), metrics)

  def write_history(self, history: List[training.Evaluation]) -> None:
    frame = pd.DataFrame([dataclasses.asdict(r) for r in history],
                         columns=[f.name for f in dataclasses.fields(training.Evaluation)])
    with atomic.replacing(self.file(HISTORY), suffix=".csv") as tmp:
      frame.to_csv(tmp, index=False)

  def save_model(self, model: keras.Model) -> None:
    with atomic.replacing(self.file(MODEL), suffix=".keras") as tmp:
      model.save(tmp)

  def save_initial_weights(self, model: keras.Model) -> None:
    with atomic.replacing(self.file(INITIAL_WEIGHTS), suffix=".weights.h5") as tmp:
      model.save_weights(tmp)


  def snapshot(self, step: int) -> pathlib.Path:
    """Where the weights at optimizer step ``step`` are kept (``snapshot_steps``)."""
    return self.file(SNAPSHOTS) / f"step_{int(step)}.weights.h5"

  def save_snapshot(self, model: keras.Model, step: int) -> None:
    path = self.snapshot(step)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path, suffix=".weights.h5") as tmp:
      model.save_weights(tmp)

  def clear(self, keep=()) -> None:
    """Removes every file and folder of the run directory except those named in ``keep``."""
    import shutil
    for child in self.path.iterdir():
      if child.name in keep:
        continue
      if child.is_dir() and not child.is_symlink():
        shutil.rmtree(child)
      else:
        child.unlink()


def missing_directories(path) -> List[pathlib.Path]:
  """``path`` and those of its parents that do not exist yet, deepest first."""
  out, path = [], pathlib.Path(path).absolute()
  while not path.exists() and path != path.parent:
    out.append(path)
    path = path.parent
  return out


def remove_if_empty(directories: List[pathlib.Path]) -> None:
  """Removes the ``directories`` (deepest first) that are empty, stopping at the first that
  is not: what a failed start created and left empty."""
  for directory in directories:
    try:
      directory.rmdir()
    except OSError:
      return


def file_sha256(path) -> str:
  """SHA-256 of a file (hex): the identity of a model file in the sensitivity cache."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


class SensitivityStore:
  """The stored sensitivity tables of one model (module docstring)."""

  def __init__(self, path):
    self.path = pathlib.Path(path)

  def cached(self, cache_key: str, accept_legacy=None) -> Optional[dict]:
    """The stored summary if all four files are there under this cache key (the evaluation's
    every input: `sensitivity_tf.store.evaluations.evaluation_key`); None otherwise (also
    for a damaged summary). A summary from before cache keys is taken only if
    ``accept_legacy(summary)`` says so."""
    try:
      summary = atomic.read_json(self.path / SUMMARY)
    except (FileNotFoundError, ValueError):
      return None
    if "cache_key" in summary or accept_legacy is None:
      if summary.get("cache_key") != cache_key:
        return None
    elif not accept_legacy(summary):
      return None
    if not all((self.path / f).is_file() for f in (POINTS, TRAJECTORY_JACOBIAN,
                                                   TRAJECTORY_TRANSITIONS)):
      return None
    return summary

  def write(self, points: pd.DataFrame, trajectory_jacobian: pd.DataFrame,
            trajectory_transitions: pd.DataFrame, summary: dict, settings: dict) -> None:
    """Replaces the stored evaluation by these four tables, together or not at all;
    ``settings`` go into each table's metadata."""
    with atomic.replacing_directory(self.path) as out:
      for name, frame in ((POINTS, points), (TRAJECTORY_JACOBIAN, trajectory_jacobian),
                          (TRAJECTORY_TRANSITIONS, trajectory_transitions)):
        frame = frame.copy()
        frame.attrs["settings"] = settings
        atomic.write_parquet(out / name, frame)
      atomic.write_json(out / SUMMARY, summary)


def find_run_dirs(patterns: List[str]) -> List[RunDirectory]:
  """Run directories named by paths or glob patterns (sorted, de-duplicated).

  A path or pattern that names nothing raises RunDirError.
  """
  import glob
  out, seen = [], set()
  for pattern in patterns:
    matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    matches = [m for m in matches if pathlib.Path(m).is_dir()]
    if not matches:
      raise RunDirError(f"{pattern}: no such run directory")
    for m in matches:
      key = pathlib.Path(m).resolve()
      if key not in seen:
        seen.add(key)
        out.append(RunDirectory(m))
  return out
