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
    os.replace(tmp, path)
  finally:
    if tmp.exists():
      tmp.unlink()


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


def write_json(path, obj: Any) -> None:
  """Writes ``obj`` as indented JSON (NaN/inf are written as JSON's NaN/Infinity)."""
  write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_json_default)
                     + "\n").encode())


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
