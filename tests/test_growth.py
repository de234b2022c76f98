"""Growing studies: the goal's count against an independent count, the sizes a run asks for,
and what a run logs and a dry run prints on the way (how far toward the goal, not only
"not enough yet")."""

import numpy as np
import pandas as pd
import tensorflow as tf

from sensitivity_tf.reproduce import growth
from sensitivity_tf.reproduce import plan
from sensitivity_tf.reproduce import workspace
from sensitivity_tf.survey import cost


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


class _Planning(plan.PlanningWorkspace):
  """A planning workspace whose studies are the table above (no trials built, nothing read)."""

  def __init__(self):
    super().__init__("/nonexistent", "tiny")

  def _planned(self, s):
    n = s["num_pairs"]
    need = cost.Need(f"study {s['name']} on {s['dataset']}", [{}] * (2 * n), [True] * (2 * n),
                     True, "x")
    self.needs[s["name"]] = need
    return need, _pairs(FIT_A[:n], FIT_B[:n])


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

  def test_a_dry_run_says_how_far_toward_the_goal(self):
    goal = growth.Goal(growth.fair_pairs_count, 50, "fair pairs")
    ws = _Planning()
    ws.grow_study(dict(name="pairs_x", dataset="mnist", num_pairs=6), "num_pairs", goal,
                  maximum=20, step=4)
    (need,) = ws.needs.values()  # the study at its cap, under one folder
    self.assertEqual(need.total, 40)
    text = cost.summary([need], cost.Recorded())
    self.assertIn(f"40 networks (at most; it starts with 12 and grows until 50 fair pairs "
                  f"({_fair_by_hand(20)} so far))", text)

  def test_a_study_that_reached_its_goal_is_not_planned_further(self):
    goal = growth.Goal(growth.fair_pairs_count, _fair_by_hand(6), "fair pairs")
    ws = _Planning()
    rows = ws.grow_study(dict(name="pairs_x", dataset="mnist", num_pairs=6), "num_pairs",
                         goal, maximum=20, step=4)
    self.assertLen(rows, 12)
    (need,) = ws.needs.values()
    self.assertEqual((need.total, need.first), (12, None))
    self.assertNotIn("grows until", cost.summary([need], cost.Recorded()))


if __name__ == "__main__":
  tf.test.main()
