"""Growing studies: the goal's count against an independent count, the sizes a run asks for,
and what a run logs and a dry run prints on the way (how far toward the goal, not only
"not enough yet")."""

import tempfile
import types

import numpy as np
import pandas as pd
import tensorflow as tf

from sensitivity_tf.commands import config_files
from sensitivity_tf.reproduce import growth
from sensitivity_tf.reproduce import plan
from sensitivity_tf.reproduce import workspace
from sensitivity_tf.survey import cost
from sensitivity_tf.survey import design as design_lib
from sensitivity_tf.survey import results as results_lib
from sensitivity_tf.survey import study as study_lib


def _pairs(fit_a, fit_b):
  """A paired table: pair i's partners reached the target as fit_a[i], fit_b[i]; one
  partner of pair 1 failed (status 'diverged') although its row says it reached it."""
  rows = []
  for i, (a, b) in enumerate(zip(fit_a, fit_b)):
    rows.append(dict(pair_id=i, role="a", reached_target=bool(a), status="ok"))
    rows.append(dict(pair_id=i, role="b", reached_target=bool(b),
                     status="diverged" if i == 1 else "ok"))
  return pd.DataFrame(rows)


RNG = np.random.default_rng(7)
FIT_A = RNG.random(20) < 0.6
FIT_B = RNG.random(20) < 0.6
FIT_A[1] = FIT_B[1] = True  # pair 1: both rows say fitted, but one partner diverged


def _fair_by_hand(n):
  """Pairs among the first n whose two partners fit and are 'ok' (an independent count)."""
  return sum(1 for i in range(n) if FIT_A[i] and FIT_B[i] and i != 1)


class _Growing(workspace.Workspace):
  """A workspace whose study of size n returns the first n pairs of the table above."""

  def __init__(self):
    self.logged, self.sizes = [], []
    super().__init__("/nonexistent", "tiny", log=self.logged.append)

  def study(self, study):
    n = study["num_pairs"]
    self.sizes.append(n)
    return _pairs(FIT_A[:n], FIT_B[:n])


class GrowthTest(tf.test.TestCase):

  def test_fair_pairs_counted_as_by_hand(self):
    for n in range(1, 21):
      self.assertEqual(growth.fair_pairs_count(_pairs(FIT_A[:n], FIT_B[:n])), _fair_by_hand(n))

  def test_a_run_grows_by_its_step_and_logs_its_progress(self):
    needed = 5
    goal = growth.Goal(growth.fair_pairs_count, needed, "fair pairs")
    ws = _Growing()
    rows = ws.grow_study(dict(name="pairs_x", dataset="mnist", num_pairs=4), "num_pairs", goal,
                         maximum=20, step=4)
    expected = [4]
    while _fair_by_hand(expected[-1]) < needed and expected[-1] < 20:
      expected.append(min(20, expected[-1] + 4))
    self.assertEqual(ws.sizes, expected)
    self.assertGreater(len(expected), 1)  # the table is drawn so that it has to grow
    self.assertEqual(growth.fair_pairs_count(rows), _fair_by_hand(expected[-1]))
    self.assertEqual(ws.logged, [
        f"pairs_x on mnist: {_fair_by_hand(n)} of {needed} fair pairs so far; growing to "
        f"{n + 4} (num_pairs, at most 20)" for n in expected[:-1]])

  def test_a_run_stops_at_its_cap_short_of_its_goal(self):
    goal = growth.Goal(growth.fair_pairs_count, 99, "fair pairs")
    ws = _Growing()
    ws.grow_study(dict(name="pairs_x", dataset="mnist", num_pairs=8), "num_pairs", goal,
                  maximum=18, step=6)
    self.assertEqual(ws.sizes, [8, 14, 18])

  def _planned_on_disk(self, fair_pairs, written_pairs=6):
    """Plans the tiny preset's random-labels study (3 pairs, growing by 3 to at most 6 until
    2 are fair) over a folder whose table holds a row for each trial of its first
    ``written_pairs`` pairs, as a run leaves them, with both partners fitting in
    ``fair_pairs`` only (one partner in the others); returns (rows the experiment gets, the
    largest need planned)."""
    common = config_files.common()
    cfg = types.SimpleNamespace(
        growth=types.SimpleNamespace(**common.SIZES["tiny"]["pair_growth"]),
        pairs={"random_labels": common.pairs_study("random_labels", "tiny")})
    with tempfile.TemporaryDirectory() as d:
      ws = plan.PlanningWorkspace(d, "tiny")
      s = dict(growth.on_dataset(cfg.pairs["random_labels"], "mnist"), data_dir="",
               num_pairs=cfg.growth.max_pairs)
      trials = design_lib.build_trials(s, study_lib.evaluation_settings(s).settings_id)
      pair_ids = list(dict.fromkeys(t.pair_id for t in trials))
      self.assertLen(pair_ids, 6)
      table = results_lib.table(ws.study_dir(s))
      for t in trials:
        if pair_ids.index(t.pair_id) >= written_pairs:
          continue
        fits = pair_ids.index(t.pair_id) in fair_pairs or t.role == "good"
        table.write_row(t.key, dict(trial_key=t.key, study=s["name"], trial_index=t.index,
                                    pair_id=t.pair_id, pair_factor=t.factor,
                                    pair_role=t.role, status="ok", reached_target=fits))
      rows = growth.grown_pairs(ws, cfg, "random_labels", "mnist")
      return rows, max(ws.needs.values(), key=lambda n: n.total)

  def test_a_dry_run_grows_as_the_run_did_over_the_rows_on_disk(self):
    # 2 fair among the first 3 pairs: the goal is reached where the study starts
    rows, need = self._planned_on_disk(fair_pairs={0, 2, 4})
    self.assertEqual((need.total, need.to_do, need.first), (6, 0, None))
    self.assertEqual(growth.fair_pairs_count(rows), 2)
    # 1 fair among the first 3, 2 among all 6: the run grew to 6 and stopped there
    rows, need = self._planned_on_disk(fair_pairs={1, 4})
    self.assertEqual((need.total, need.to_do, need.first), (12, 0, None))
    self.assertEqual(growth.fair_pairs_count(rows), 2)
    # 1 fair among all 6: the run stopped at its cap short of its goal, nothing to train
    rows, need = self._planned_on_disk(fair_pairs={1})
    self.assertEqual((need.total, need.to_do), (12, 0))
    self.assertLen(rows, 12)

  def test_a_dry_run_plans_an_unfinished_growth_at_its_cap(self):
    # only the first 3 pairs trained, 1 fair: the rest of the growth is not known yet
    rows, need = self._planned_on_disk(fair_pairs={1}, written_pairs=3)
    self.assertEqual((need.total, need.to_do, need.first), (12, 6, 6))
    self.assertEqual(need.until, "2 fair pairs (1 so far)")
    self.assertLen(rows, 6)
    self.assertIn("12 networks (at most; it starts with 6 and grows until 2 fair pairs "
                  "(1 so far)), 6 done, 6 to train", cost.summary([need], cost.Recorded()))


if __name__ == "__main__":
  tf.test.main()
