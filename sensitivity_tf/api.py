"""The sensitivity metrics for a Keras classifier and NumPy arrays, in three calls.

    from sensitivity_tf import api
    norms = api.jacobian_norms(model, x)                    # ‖∂softmax/∂x‖_F per point
    loops = api.ellipses(x, y, kind="same_class", count=4)  # closed trajectories
    counts = api.transitions(model, loops)                  # transitions per loop

``model`` is any Keras classifier (functional, Sequential or subclassed; logits or softmax
output); ``x`` holds points as the model receives them (images stay images, or flat), ``y``
integer labels. The routes are chosen automatically and recorded in each result's
``settings`` (`sensitivity_tf.metrics.jacobian`, `sensitivity_tf.metrics.transitions`). For a whole
evaluation (tables of points and trajectories, a summary) see
`sensitivity_tf.metrics.evaluation.evaluate` and ``bin/evaluate_sensitivity --model``.
"""

from __future__ import annotations

from typing import List, Optional

import keras
import numpy as np

from sensitivity_tf.metrics import jacobian
from sensitivity_tf.metrics import trajectories
from sensitivity_tf.metrics import transitions as transitions_lib
from sensitivity_tf.metrics.trajectories import Ellipse


def jacobian_norms(model: keras.Model, x, variant: str = "softmax",
                   **options) -> jacobian.JacobianNorms:
  """Exact per-point ‖J(x)‖_F (``.norms``, ``.log10_norms``; ``.mean_norm`` is the paper's
  per-model number). ``options``: see `sensitivity_tf.metrics.jacobian.JacobianNorm`."""
  return jacobian.JacobianNorm(model, variant=variant, **options)(x)


def ellipses(x, y: Optional[np.ndarray] = None, kind: str = "random", count: int = 8,
             seed: int = 0, low: float = 0.0, high: float = 1.0) -> List[Ellipse]:
  """``count`` ellipses of one kind (SPEC §1.2): ``random`` (anchors drawn per feature from
  the mean and standard deviation of ``x``, clipped to [``low``, ``high``]),
  ``different_class`` or ``same_class`` (three points of ``x`` chosen by their labels ``y``).
  Points are flattened; the counters reshape them for the model. Refused (ValueError, one
  line): labels not one per point, ``count`` < 0, ``low`` > ``high``."""
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  if kind != "random" and y is None:
    raise ValueError(f"kind={kind!r} needs the labels y; allowed without labels: random")
  if y is not None and np.asarray(y).reshape(-1).shape != (len(x),):
    raise ValueError(f"y has {np.asarray(y).size} labels for {len(x)} points; allowed: one "
                     "integer label per point")
  if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
    raise ValueError(f"count={count!r} is invalid; allowed: an integer >= 0")
  if not low <= high:
    raise ValueError(f"low={low!r} > high={high!r}; allowed: low <= high")
  return trajectories.make_ellipses(
      kind, count, seed, x_train=x, y_train=None if y is None else np.asarray(y).reshape(-1),
      feature_mean=x.mean(0), feature_std=x.std(0), input_low=low, input_high=high)


def transitions(model: keras.Model, loops: List[Ellipse],
                num_samples: int = transitions_lib.DEFAULT_SAMPLES,
                bins: int = transitions_lib.DEFAULT_BINS) -> transitions_lib.TransitionCounts:
  """Sampled transitions along each loop (``.counts``; ``.densities`` per radian in ``bins``
  angle bins), ``num_samples`` samples per loop (a multiple of 6 and of ``bins``)."""
  return transitions_lib.TransitionCounter(model, num_samples=num_samples,
                                           bins=bins).along(loops)
