"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Everything is written to a temporary file in the destination's directory, flushed and
fsync'ed, then renamed over the destination (``os.replace`` is atomic on POSIX within one
file system). A crash or ``kill -9`` mid-write leaves at worst a ``.tmp-*`` file behind,
which readers ignore.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
from typing import Any, Iterator

import numpy as np

TMP_PREFIX = ".tmp-"


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def replacing(path, suffix: str = "") -> Iterator[pathlib.Path]:
  """Yields a temporary path; on success it is moved over ``path`` atomically."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", suffix=suffix,
                             dir=path.parent)
  os.close(fd)
  tmp = pathlib.Path(tmp)
  try:
    yield tmp
    with open(tmp, "rb+") as f:
      os.fsync(f.fileno())
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
    os.replace(tmp, path)
  finally:
    if tmp.exists():
      tmp.unlink()


@contextlib.contextmanager
def replacing_directory(path) -> Iterator[pathlib.Path]:
  """Yields an empty staging directory; on success it replaces ``path`` as a whole.

  For a set of files that must change together: readers see all old files or all new
  ones. A crash leaves a ``.tmp-*`` directory (removed by the next call for ``path``)
  and, at worst between the two renames, no ``path`` at all, never a mixture.
  """
  import shutil
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  for stale in path.parent.glob(f"{TMP_PREFIX}{path.name}.*"):
    shutil.rmtree(stale, ignore_errors=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}.", dir=path.parent))
  try:
    yield staging
    os.chmod(staging, 0o777 & ~_umask())
    if path.exists():
      old = path.parent / f"{TMP_PREFIX}{path.name}.old-{os.getpid()}"
      os.replace(path, old)
      os.replace(staging, path)
      shutil.rmtree(old, ignore_errors=True)
    else:
      os.replace(staging, path)
  finally:
    if staging.exists():
      shutil.rmtree(staging, ignore_errors=True)


def write_bytes(path, data: bytes) -> None:
  with replacing(path) as tmp:
    tmp.write_bytes(data)


def _json_default(o: Any):
  if isinstance(o, (np.integer,)):
    return int(o)
  if isinstance(o, (np.floating,)):
    return float(o)
  if isinstance(o, np.ndarray):
    return o.tolist()
  if isinstance(o, (pathlib.Path,)):
    return str(o)
  raise TypeError(f"cannot write {type(o).__name__} to JSON")


def strict(obj: Any) -> Any:
  """``obj`` with every non-finite float (NaN, inf) replaced by None, numpy scalars and
  arrays made plain, recursively: what strict JSON can hold."""
  if isinstance(obj, dict):
    return {k: strict(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [strict(v) for v in obj]
  if isinstance(obj, np.ndarray):
    return strict(obj.tolist())
  if isinstance(obj, (float, np.floating)):
    return float(obj) if np.isfinite(obj) else None
  return obj


def write_json(path, obj: Any) -> None:
  """Writes ``obj`` as indented, strict JSON: non-finite numbers (a diverged run's NaN loss)
  are written as ``null``, never as the ``NaN``/``Infinity`` that strict parsers refuse."""
  write_bytes(path, (json.dumps(strict(obj), indent=2, sort_keys=True, default=_json_default,
                                allow_nan=False) + "\n").encode())


def read_json(path) -> Any:
  with open(path) as f:
    return json.load(f)


def write_npz(path, **arrays) -> None:
  with replacing(path, suffix=".npz") as tmp:
    np.savez(tmp, **arrays)


def write_parquet(path, frame) -> None:
  """Writes a pandas DataFrame as one Parquet file, atomically."""
  with replacing(path, suffix=".parquet") as tmp:
    frame.to_parquet(tmp, index=False)
