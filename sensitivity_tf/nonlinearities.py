"""Nonlinearities of the fully-connected networks, registered by name.

Each entry carries what the two sensitivity metrics need besides the function itself:

* ``derivative(z)``: the elementwise derivative, used by the fast Jacobian-norm route
  (`sensitivity_tf.jacobian`) so that it never has to differentiate through the first
  (widest) layer;
* ``breakpoints``: the pre-activation values where the function changes linear piece.
  The *code* of a neuron (docs/method.md §1.2) is the index of the piece its pre-activation ``z``
  lies in: the number of breakpoints ``b`` with ``b <= z``. A pre-activation exactly on a
  breakpoint therefore takes the code of the piece to its right.

Definitions (these are ours where the paper is silent; they are the ones every metric uses):

=============  ==============================  ===================  ======
name           f(z)                            breakpoints          pieces
=============  ==============================  ===================  ======
relu           max(z, 0)                       0                    2
relu6          min(max(z, 0), 6)               0, 6                 3
hard_tanh      min(max(z, -1), 1)              -1, +1               3
hard_sigmoid   relu6(z + 3) / 6  (Keras 3)     -3, +3               3
tanh           tanh(z)  (smooth)               0 (sign code) [ours] 2
=============  ==============================  ===================  ======

``tanh`` has no linear regions. Its "code" is the sign of ``z``, a two-piece code that is
*not* a linear-region code; every place that shows transitions for a tanh network must say
so (``Nonlinearity.piecewise_linear`` is False for it).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Tuple

import keras
import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Nonlinearity:
  """One registered nonlinearity: function, derivative and linear pieces."""

  name: str
  fn: Callable[[tf.Tensor], tf.Tensor]
  derivative: Callable[[tf.Tensor], tf.Tensor]
  breakpoints: Tuple[float, ...]
  piecewise_linear: bool
  # Slope of each linear piece, len(breakpoints) + 1 entries (None for smooth ones).
  slopes: Tuple[float, ...] | None

  @property
  def num_pieces(self) -> int:
    return len(self.breakpoints) + 1

  def code(self, z):
    """Integer piece index of each pre-activation (TF tensor in, int8 tensor out)."""
    z = tf.convert_to_tensor(z)
    code = tf.zeros(tf.shape(z), tf.int8)
    for b in self.breakpoints:
      code += tf.cast(z >= tf.cast(b, z.dtype), tf.int8)
    return code

  def code_numpy(self, z: np.ndarray) -> np.ndarray:
    """Same as `code`, for NumPy arrays (used by the exact counters)."""
    return np.searchsorted(np.asarray(self.breakpoints), z, side="right").astype(np.int8)


# The functions are registered with Keras so that a saved ``.keras`` model reloads
# with exactly the same definition, without any custom_objects argument.
@keras.saving.register_keras_serializable(package="sensitivity_tf")
def relu(z):
  return tf.nn.relu(z)


@keras.saving.register_keras_serializable(package="sensitivity_tf")
def relu6(z):
  return tf.nn.relu6(z)


@keras.saving.register_keras_serializable(package="sensitivity_tf")
def hard_tanh(z):
  return tf.clip_by_value(z, -1.0, 1.0)


@keras.saving.register_keras_serializable(package="sensitivity_tf")
def hard_sigmoid(z):
  return tf.nn.relu6(z + 3.0) / 6.0


@keras.saving.register_keras_serializable(package="sensitivity_tf")
def tanh(z):
  return tf.math.tanh(z)


def _between(z, low, high, slope=1.0):
  inside = tf.logical_and(z > low, z < high)
  return tf.where(inside, tf.cast(slope, z.dtype), tf.zeros_like(z))


NONLINEARITIES = {
    "relu": Nonlinearity(
        "relu", relu, lambda z: tf.cast(z > 0, z.dtype), (0.0,), True, (0.0, 1.0)),
    "relu6": Nonlinearity(
        "relu6", relu6, lambda z: _between(z, 0.0, 6.0), (0.0, 6.0), True,
        (0.0, 1.0, 0.0)),
    "hard_tanh": Nonlinearity(
        "hard_tanh", hard_tanh, lambda z: _between(z, -1.0, 1.0), (-1.0, 1.0), True,
        (0.0, 1.0, 0.0)),
    "hard_sigmoid": Nonlinearity(
        "hard_sigmoid", hard_sigmoid, lambda z: _between(z, -3.0, 3.0, 1.0 / 6.0),
        (-3.0, 3.0), True, (0.0, 1.0 / 6.0, 0.0)),
    "tanh": Nonlinearity(
        # 1/cosh² rather than 1 − tanh²: the latter loses all relative precision in float32
        # for saturated units (at z = 5, 3e-4 relative error; at z = 9, 100%).
        "tanh", tanh, lambda z: tf.math.square(1.0 / tf.math.cosh(z)), (0.0,), False, None),
}


def get(name: str) -> Nonlinearity:
  """The registered nonlinearity called ``name``; ValueError listing the allowed ones."""
  try:
    return NONLINEARITIES[name]
  except KeyError:
    raise ValueError(
        f"unknown nonlinearity {name!r}; allowed: {', '.join(NONLINEARITIES)}") from None
