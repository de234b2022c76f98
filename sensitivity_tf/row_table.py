"""A table that many processes append to safely: one Parquet file per row, in a directory.

Each row is written atomically as ``<key>.parquet`` (temporary ``.tmp-*`` file, then
rename), so a crash or ``kill -9`` never leaves a half-written row, writers on different
machines sharing the directory never conflict, and writing a row with an existing key
replaces it (a row is never duplicated). Every row follows one fixed schema, so

    pandas.read_parquet(directory)

reads the whole table in one call (pyarrow skips the ``.tmp-*`` files).
"""

from __future__ import annotations

import hashlib
import pathlib
import re
from typing import Dict, List

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sensitivity_tf import atomic

_SAFE = re.compile(r"^[A-Za-z0-9_.=-]+$")


class RowTable:
  """A directory of single-row Parquet files with a common ``schema``."""

  def __init__(self, path, schema: pa.Schema):
    self.path = pathlib.Path(path)
    self.schema = schema

  def _file(self, key: str) -> pathlib.Path:
    if not _SAFE.match(key) or key.startswith("."):
      key = hashlib.sha256(key.encode()).hexdigest()[:32]
    return self.path / f"{key}.parquet"

  def write_row(self, key: str, row: Dict) -> None:
    """Writes (or replaces) the row ``key``; unknown fields are an error, missing ones null."""
    unknown = sorted(set(row) - set(self.schema.names))
    if unknown:
      raise KeyError(f"fields {unknown} are not in the table's schema")
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
