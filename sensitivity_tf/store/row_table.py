"""A table that many processes append to safely: one Parquet file per row, in a directory.

Each row is written atomically as ``<key>.parquet`` (temporary ``.tmp-*`` file, then
rename), so a crash or ``kill -9`` never leaves a half-written row, writers on different
machines sharing the directory never conflict, and writing a row with an existing key
replaces it (a row is never duplicated). Every row follows one fixed schema, so

    pandas.read_parquet(directory)

reads the whole table in one call (pyarrow skips the ``.tmp-*`` files).

A table belongs to the tool that created it: ``_table.json`` (skipped by pyarrow, as every
name starting with ``_``) records its ``kind`` (``survey``, ``sensitivity_summary``), and a
writer of another kind is refused with a one-line `TableError`, as is a table path that is
a file. A table from before the marker is judged by the columns of its rows.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
from typing import Dict, List

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sensitivity_tf.store import atomic

_SAFE = re.compile(r"^[A-Za-z0-9_.=-]+$")


MARKER = "_table.json"


class TableError(ValueError):
  """A table path that cannot take this writer's rows (one-line message)."""


class RowTable:
  """A directory of single-row Parquet files with a common ``schema``, of one ``kind``."""

  def __init__(self, path, schema: pa.Schema, kind: str = "table"):
    self.path = pathlib.Path(path).expanduser()
    self.schema = schema
    self.kind = kind
    self._checked = False

  def check_writable(self) -> "RowTable":
    """Raises TableError unless rows of this schema may be written here (a new directory, or
    a table of this kind); marks a new table with its kind."""
    if self._checked:
      return self
    if self.path.exists() and not self.path.is_dir():
      raise TableError(f"table {self.path} is a file; a table is a directory (new, or one "
                       f"written by the same tool): pass another path")
    marker = self.path / MARKER
    if marker.is_file():
      kind = atomic.read_json(marker).get("kind")
      if kind != self.kind:
        raise TableError(f"table {self.path} holds {kind} rows; this tool writes {self.kind} "
                         "rows, which it would mix in: pass another table directory")
    else:
      keys = self.keys()
      if keys:
        names = pq.read_schema(self._file(keys[0])).names
        extra = sorted(set(names) - set(self.schema.names))
        if extra:
          raise TableError(f"table {self.path} holds rows of another schema (columns "
                           f"{extra[:3]} are not {self.kind} columns): pass another table "
                           "directory")
      atomic.write_json(marker, dict(kind=self.kind, columns=self.schema.names))
    self._checked = True
    return self

  def _file(self, key: str) -> pathlib.Path:
    if not _SAFE.match(key) or key.startswith("."):
      key = hashlib.sha256(key.encode()).hexdigest()[:32]
    return self.path / f"{key}.parquet"

  def write_row(self, key: str, row: Dict) -> None:
    """Writes (or replaces) the row ``key``; unknown fields are an error, missing ones null."""
    unknown = sorted(set(row) - set(self.schema.names))
    if unknown:
      raise KeyError(f"fields {unknown} are not in the table's schema")
    self.check_writable()
    table = pa.Table.from_pylist([{n: row.get(n) for n in self.schema.names}],
                                 schema=self.schema)
    with atomic.replacing(self._file(key), suffix=".parquet") as tmp:
      pq.write_table(table, tmp)

  def read_row(self, key: str) -> Dict:
    return pq.read_table(self._file(key), schema=self.schema).to_pylist()[0]

  def delete_row(self, key: str) -> None:
    self._file(key).unlink(missing_ok=True)

  def has(self, key: str) -> bool:
    return self._file(key).is_file()

  def keys(self) -> List[str]:
    return sorted(p.stem for p in self.path.glob("*.parquet")) if self.path.is_dir() else []

  def read(self) -> pd.DataFrame:
    """The whole table (empty, with the schema's columns, when there are no rows)."""
    if not self.keys():
      return self.schema.empty_table().to_pandas()
    return pd.read_parquet(self.path, schema=self.schema)
