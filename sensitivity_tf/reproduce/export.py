"""What ``bin/reproduce --docs_dir`` publishes: a reproduction that can be read (and
re-analysed) without the workspace it came from.

``export(ws_root, docs_dir)`` makes ``docs_dir`` mirror the workspace's results:

* every figure (``figures/*.png``);
* the report, ``claims.md``, and every claim's numbers, ``claims.json``;
* the measures experiment's tables, ``measures/ranking.csv`` and ``measures/networks.csv``;
* every survey table as CSV, one row per network with its hyperparameters, final and
  first-fit training values and every measure: ``tables/<dataset>/<study folder>.csv``
  (rows sorted by trial index; the same columns as the Parquet table, whose ``run_dir`` is
  relative to the study's folder, so no path of this machine is published);
* every analysis table an experiment wrote with `analysis_table` (the per-ellipse, per-anchor,
  per-slice and per-model summaries behind C3, C4, C5 and C12, the fidelity study's table):
  ``tables/<dataset>/<name>.csv``, as written.

Files an earlier export put in ``docs_dir`` that the workspace no longer produces (PNGs,
CSVs) are removed, so the folder never mixes two reproductions; nothing else in
``docs_dir`` is touched. Returns the files written, relative to ``docs_dir``.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import List

import pandas as pd

from sensitivity_tf.store import atomic


def analysis_table(ws, dataset: str, name: str, frame: pd.DataFrame) -> pathlib.Path:
  """Writes ``frame`` as ``<dataset>/tables/<name>.csv`` in the workspace ``ws`` (atomically,
  replacing the last analysis's): a table a claim rests on, published by `export`."""
  path = ws.path(dataset, "tables", f"{name}.csv")
  atomic.write_bytes(path, frame.to_csv(index=False).encode())
  return path


def analysis_tables(ws_root) -> List[pathlib.Path]:
  """The CSV tables experiments wrote with `analysis_table` (``<dataset>/tables/*.csv``)."""
  return sorted(p for p in pathlib.Path(ws_root).glob("*/tables/*.csv") if p.is_file())


def study_tables(ws_root) -> List[pathlib.Path]:
  """The table folders of every study in the workspace (``<dataset>/studies/*/table``)."""
  return sorted(p for p in pathlib.Path(ws_root).glob("*/studies/*/table") if p.is_dir())


def export(ws_root, docs_dir) -> List[str]:
  root, docs = pathlib.Path(ws_root), pathlib.Path(docs_dir)
  docs.mkdir(parents=True, exist_ok=True)
  written = []
  for png in sorted((root / "figures").glob("*.png")):
    shutil.copy(png, docs / png.name)
    written.append(png.name)
  for name in ("claims.md", "claims.json"):
    if (root / name).is_file():
      shutil.copy(root / name, docs / name)
      written.append(name)
  for table in sorted((root / "measures").glob("*.csv")):
    (docs / "measures").mkdir(exist_ok=True)
    shutil.copy(table, docs / "measures" / table.name)
    written.append(f"measures/{table.name}")
  for table in study_tables(root):
    frame = pd.read_parquet(table)
    if "trial_index" in frame:
      frame = frame.sort_values("trial_index", kind="stable")
    dataset, study_folder = table.parent.parent.parent.name, table.parent.name
    rel = pathlib.Path("tables", dataset, f"{study_folder}.csv")
    (docs / rel).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(docs / rel, frame.to_csv(index=False).encode())
    written.append(rel.as_posix())
  for table in analysis_tables(root):
    rel = pathlib.Path("tables", table.parent.parent.name, table.name)
    (docs / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(table, docs / rel)
    written.append(rel.as_posix())
  keep = set(written)
  for old in (list(docs.glob("*.png")) + list(docs.glob("tables/*/*.csv"))
              + list(docs.glob("measures/*.csv"))):
    if old.relative_to(docs).as_posix() not in keep:
      old.unlink()
  return written
