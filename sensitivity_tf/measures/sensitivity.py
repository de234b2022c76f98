"""The paper's two sensitivity measures, as generalization measures (Novak et al. 2018;
docs/method.md §1), through the project's Python API:

* ``jacobian_norm``: the mean over ``test_points`` seeded test points of the exact
  ‖∂softmax(f(x))/∂x‖_F (`sensitivity_tf.api.jacobian_norms`);
* ``transitions``: the mean over ``test_point_ellipses`` seeded test points of the
  transitions (``num_samples`` samples) around the ellipse through the test point and two
  other test points (the per-test-point transitions of docs/method.md §2,
  `sensitivity_tf.api.transitions`).

Both use the battery's ``seed`` to draw their points; with the seeds, counts and k of a
survey's evaluation they are that evaluation's ``jacobian_test_mean`` and
``test_point_transitions_mean`` (the points are drawn the same way).
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from sensitivity_tf import api
from sensitivity_tf.metrics import trajectories
from sensitivity_tf.metrics.evaluation import _choose  # the evaluation's draw of points
from sensitivity_tf.measures.network import TrainedNetwork

FAMILY = "sensitivity"


def compute(net: TrainedNetwork, settings) -> Dict[str, float]:
  test = _choose(len(net.x_test), settings.test_points, settings.seed, 1)
  out = dict(jacobian_norm=api.jacobian_norms(net.model, net.x_test[test]).mean_norm)
  chosen = test[_choose(len(test), settings.test_point_ellipses, settings.seed, 3)]
  loops = trajectories.ellipses_through_test_points(net.x_test, chosen, settings.seed)
  counts = api.transitions(net.model, loops, num_samples=settings.num_samples,
                           bins=settings.bins).counts
  out["transitions"] = float(np.mean(counts))
  return out
