"""Noise-aware gap differences of factor pairs (issue 21; docs/method.md §6).

Both partners of a pair classify the same test points, so whether their test accuracies (for a
fair pair, their gap difference) differ by more than test-set noise is an exact McNemar test on
their per-point correctness (`statistics.mcnemar_exact`). Two sets of points [ours]:

* the **evaluated** points (`with_gap_tests`): the test points the sensitivity evaluation
  drew (its seeded subset, 1,000 at the small preset), read from each network's
  ``sensitivity/points.parquet``. The verdicts of C9-C11 and C13 rest on these (the rule
  committed before the 2026-12-04 reruns).
* the **whole** test set (`with_whole_test_gap_tests`): every test point, the set each
  network's gap is measured on, by a forward pass of its saved model; reported beside the
  verdict (what a pair test with the gap's own points says), never deciding it. Each network's
  per-point correctness is cached in ``sensitivity/test_correct.json``, valid while its model
  file and data are the ones it was computed from; a network without its model (a study with
  keep="tables"), or whose recomputed test accuracy differs from the one its table records by
  more than `ACCURACY_TOLERANCE` (half a test point of 10,000), is not testable (NaN), never
  silently tested on something else.
"""

from __future__ import annotations

import math
import pathlib
from typing import Dict, Optional

import numpy as np
import pandas as pd

from sensitivity_tf.reproduce import statistics
from sensitivity_tf.store import atomic
from sensitivity_tf.store import run_dir as run_dir_lib

EVALUATED_COLUMNS = ("gap_test_points", "gap_only_bad", "gap_only_good", "gap_p_value")
WHOLE_COLUMNS = ("gap_whole_points", "gap_whole_only_bad", "gap_whole_only_good",
                 "gap_whole_p_value")
TEST_CORRECT = "test_correct.json"
# The test's level [ours]: two-sided, 0.05 per pair, no correction for the number of pairs
# (the verdict then asks for a majority among the significant pairs, with a Wilson interval).
ALPHA = 0.05


def evaluated_correctness(run) -> Optional[pd.Series]:
  """Per-test-point correctness (bool) of the network in run directory ``run``, indexed by
  test-set index, from its evaluation's ``points.parquet``; None if it has none."""
  path = pathlib.Path(run) / run_dir_lib.SENSITIVITY / run_dir_lib.POINTS
  if not path.is_file():
    return None
  points = pd.read_parquet(path, columns=["split", "index", "correct"])
  test = points[points.split == "test"]
  return pd.Series(test.correct.astype(bool).values, index=test["index"].values)


def _stamp(run: run_dir_lib.RunDirectory) -> Dict:
  model = run.file(run_dir_lib.MODEL).stat()
  return dict(model_size=model.st_size, model_mtime_ns=model.st_mtime_ns,
              fingerprint=run.config().get("data", {}).get("fingerprint", ""))


def whole_test_correctness(run, datasets: Optional[Dict] = None) -> Optional[pd.Series]:
  """Per-point correctness (bool) of the network in run directory ``run`` on its whole test
  set, indexed by test-set index, by a forward pass of its saved model (cached in
  ``sensitivity/test_correct.json``); None without a saved model. ``datasets`` caches loaded
  datasets by their options across calls."""
  run = run_dir_lib.RunDirectory(pathlib.Path(run))
  if not run.file(run_dir_lib.MODEL).is_file():
    return None
  cache = run.path / run_dir_lib.SENSITIVITY / TEST_CORRECT
  stamp = _stamp(run)
  if cache.is_file():
    saved = atomic.read_json(cache)
    if all(saved.get(k) == v for k, v in stamp.items()):
      return pd.Series(np.array(saved["correct"], bool), name="correct")
  key = repr(sorted(run.train_config().data_options().items()))
  datasets = {} if datasets is None else datasets
  if key not in datasets:
    datasets[key] = run.load_dataset()
  data = datasets[key]
  model = run.load_model()
  logits = model.predict(data.x_test, batch_size=2000, verbose=0)
  correct = np.argmax(logits, axis=-1) == np.asarray(data.y_test)
  cache.parent.mkdir(parents=True, exist_ok=True)
  atomic.write_json(cache, dict(stamp, correct=correct.astype(int).tolist()))
  return pd.Series(correct, name="correct")


def _tests(pairs: pd.DataFrame, study_dir, correctness, columns, check=None) -> pd.DataFrame:
  found = {c: [] for c in columns}
  for i, (bad_run, good_run) in enumerate(zip(pairs.get("run_dir_bad", []),
                                              pairs.get("run_dir_good", []))):
    bad = correctness(pathlib.Path(study_dir) / bad_run)
    good = correctness(pathlib.Path(study_dir) / good_run)
    if (bad is None or good is None or set(bad.index) != set(good.index)
        or (check is not None and not check(pairs.iloc[i], bad, good))):
      for c in columns:
        found[c].append(math.nan)
      continue
    test = statistics.mcnemar_exact(bad.values, good.loc[bad.index].values)
    for c, v in zip(columns, (test.points, test.only_a, test.only_b, test.p_value)):
      found[c].append(v)
  out = pairs.copy()
  for c, v in found.items():
    out[c] = pd.Series(v, index=pairs.index, dtype=float) if len(pairs) else pd.Series(
        dtype=float)
  return out


def with_gap_tests(pairs: pd.DataFrame, study_dir) -> pd.DataFrame:
  """``pairs`` (`factors.paired`) with the exact McNemar test of each pair's test accuracy
  difference on the evaluated points, from its partners' evaluations under ``study_dir``:
  ``gap_test_points`` (shared test points), ``gap_only_bad`` / ``gap_only_good`` (points only
  that partner gets right) and ``gap_p_value``; NaN where a partner has no evaluation or the
  two were evaluated on different test points."""
  return _tests(pairs, study_dir, evaluated_correctness, EVALUATED_COLUMNS)


# How far a recomputed test accuracy may be from the table's before a network is not testable
# [ours]: half a test point of 10,000 would already be a different model or test set; this
# leaves room only for float32 rounding of the logits.
ACCURACY_TOLERANCE = 5e-5


def _matches_table(row, bad: pd.Series, good: pd.Series) -> bool:
  """Whether both recomputed test accuracies are the ones the study's table records (train
  accuracy − gap), so the whole-set test is on the networks and test set the gap came from."""
  for role, correct in (("bad", bad), ("good", good)):
    recorded = row.get(f"train_accuracy_{role}", math.nan) - row.get(
        f"generalization_gap_{role}", math.nan)
    if not (math.isfinite(recorded) and abs(float(correct.mean()) - recorded)
            <= ACCURACY_TOLERANCE):
      return False
  return True


def with_whole_test_gap_tests(pairs: pd.DataFrame, study_dir) -> pd.DataFrame:
  """``pairs`` with the same test on every test point (`whole_test_correctness`):
  ``gap_whole_points``, ``gap_whole_only_bad``, ``gap_whole_only_good``, ``gap_whole_p_value``;
  NaN where a partner has no saved model or its recomputed test accuracy is not its table's."""
  datasets: Dict = {}
  return _tests(pairs, study_dir, lambda run: whole_test_correctness(run, datasets),
                WHOLE_COLUMNS, check=_matches_table)


def with_significant_gap(kept: pd.DataFrame, p_column: str = "gap_p_value") -> pd.DataFrame:
  """The pairs of ``kept`` whose gap difference is significant (``p_column`` below `ALPHA`:
  the evaluated points' test by default, ``gap_whole_p_value`` for the whole test set's);
  none where the tests are missing (tables written before them)."""
  p = kept[p_column] if p_column in kept else pd.Series(math.nan, index=kept.index)
  return kept[p < ALPHA]

