"""Nonlinearities of the networks, registered by name, and those of Keras models at large.

Each entry carries what the two sensitivity metrics need besides the function itself:

* ``derivative(z)``: the elementwise derivative, used by the fast Jacobian-norm route
  (`sensitivity_tf.metrics.jacobian`) so that it never has to differentiate through the first
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

The networks we build use the Keras built-in activations of the same names
(``keras.activations.relu`` ... ``tanh``; ``hard_tanh`` needs Keras >= 3.7), so a saved
``model.keras`` loads with plain ``keras.saving.load_model`` in a process that never imports
this package. Models saved before that used functions registered as ``sensitivity_tf>relu``
etc.; those stay registered here, so old runs still load once this module is imported.

Models this project did not build may also use ``leaky_relu`` (slope α below 0, breakpoint 0)
or the ``ReLU`` layer's variants (`from_keras_activation`, `from_layer`); any other
activation is *smooth* (sigmoid, gelu, ...) and gets the sign code, or is unknown.

``tanh`` has no linear regions. Its "code" is the sign of ``z``, a two-piece code that is
*not* a linear-region code; every place that shows transitions for a tanh network must say
so (``Nonlinearity.piecewise_linear`` is False for it).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Nonlinearity:
  """One registered nonlinearity: function, derivative and linear pieces."""

  name: str
  fn: Callable[[tf.Tensor], tf.Tensor]
  derivative: Optional[Callable[[tf.Tensor], tf.Tensor]]  # None: not needed (smooth, foreign)
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


# The functions saved models used before they switched to the Keras built-ins; kept
# registered (as ``sensitivity_tf>relu`` ...) so that those models still load.
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


LEGACY_FUNCTIONS = (relu, relu6, hard_tanh, hard_sigmoid, tanh)


def _between(z, low, high, slope=1.0):
  inside = tf.logical_and(z > low, z < high)
  return tf.where(inside, tf.cast(slope, z.dtype), tf.zeros_like(z))


NONLINEARITIES = {
    "relu": Nonlinearity(
        "relu", keras.activations.relu, lambda z: tf.cast(z > 0, z.dtype), (0.0,), True, (0.0, 1.0)),
    "relu6": Nonlinearity(
        "relu6", keras.activations.relu6, lambda z: _between(z, 0.0, 6.0), (0.0, 6.0), True,
        (0.0, 1.0, 0.0)),
    "hard_tanh": Nonlinearity(
        "hard_tanh", keras.activations.hard_tanh, lambda z: _between(z, -1.0, 1.0), (-1.0, 1.0), True,
        (0.0, 1.0, 0.0)),
    "hard_sigmoid": Nonlinearity(
        "hard_sigmoid", keras.activations.hard_sigmoid, lambda z: _between(z, -3.0, 3.0, 1.0 / 6.0),
        (-3.0, 3.0), True, (0.0, 1.0 / 6.0, 0.0)),
    "tanh": Nonlinearity(
        # 1/cosh² rather than 1 − tanh²: the latter loses all relative precision in float32
        # for saturated units (at z = 5, 3e-4 relative error; at z = 9, 100%).
        "tanh", keras.activations.tanh, lambda z: tf.math.square(1.0 / tf.math.cosh(z)), (0.0,), False, None),
}


def get(name: str) -> Nonlinearity:
  """The registered nonlinearity called ``name``; ValueError listing the allowed ones."""
  try:
    return NONLINEARITIES[name]
  except KeyError:
    raise ValueError(
        f"unknown nonlinearity {name!r}; allowed: {', '.join(NONLINEARITIES)}") from None


# ----------------------------------------------------------------------------- any Keras model
def _piecewise_derivative(breakpoints, slopes):
  def derivative(z):
    out = tf.fill(tf.shape(z), tf.cast(slopes[0], z.dtype))
    for b, s in zip(breakpoints, slopes[1:]):
      out = tf.where(z > tf.cast(b, z.dtype), tf.cast(s, z.dtype), out)
    return out
  return derivative


def piecewise_linear(name: str, fn: Callable, breakpoints: Tuple[float, ...],
                     slopes: Tuple[float, ...]) -> Nonlinearity:
  """A piecewise-linear nonlinearity of a model we did not build (e.g. a LeakyReLU)."""
  return Nonlinearity(name, fn, _piecewise_derivative(breakpoints, slopes), tuple(breakpoints),
                      True, tuple(slopes))


def leaky_relu(negative_slope: float) -> Nonlinearity:
  """max(z, 0) + α min(z, 0): breakpoint 0, slopes (α, 1)."""
  a = float(negative_slope)
  return piecewise_linear(f"leaky_relu({a:g})",
                          lambda z: keras.activations.leaky_relu(z, negative_slope=a), (0.0,),
                          (a, 1.0))


def smooth(name: str, fn: Callable) -> Nonlinearity:
  """A nonlinearity without linear pieces: its code is the sign of the pre-activation
  (a count of sign changes, not of linear regions) [ours]."""
  return Nonlinearity(name, fn, None, (0.0,), False, None)


# Keras built-ins that are nonlinear but not piecewise linear: sign code (see `smooth`).
SMOOTH_KERAS = ("sigmoid", "gelu", "silu", "swish", "softplus", "softsign", "elu", "selu",
                "mish", "log_sigmoid", "hard_silu", "hard_swish", "celu", "glu", "sparse_plus",
                "squareplus", "exponential")
LINEAR_KERAS = ("linear",)


def keras_name(fn) -> Optional[str]:
  """The Keras registered name of an activation function (None if it is not one)."""
  for legacy in LEGACY_FUNCTIONS:
    if fn is legacy:
      return legacy.__name__
  name = getattr(fn, "__name__", None)
  if name and getattr(keras.activations, name, None) is fn:
    return name
  return None


def from_keras_activation(fn) -> Optional[Nonlinearity]:
  """The Nonlinearity of a Keras activation function: None for ``linear``; ValueError (one
  line) for one that is neither built in nor registered here (a custom function)."""
  name = keras_name(fn)
  if name in LINEAR_KERAS:
    return None
  if name in NONLINEARITIES:
    return NONLINEARITIES[name]
  if name == "leaky_relu":
    return leaky_relu(0.2)  # keras.activations.leaky_relu's default slope
  if name in SMOOTH_KERAS or name == "softmax":
    return smooth(name, fn)
  raise ValueError(f"unknown activation {getattr(fn, '__name__', fn)!r}; allowed: linear, "
                   f"{', '.join(NONLINEARITIES)}, leaky_relu or a smooth Keras built-in")


def from_layer(layer) -> Optional[Nonlinearity]:
  """The Nonlinearity a stand-alone activation layer (Activation, ReLU, LeakyReLU) applies;
  None for any other layer."""
  if isinstance(layer, keras.layers.Activation):
    return from_keras_activation(layer.activation)
  if isinstance(layer, keras.layers.LeakyReLU):
    return leaky_relu(float(layer.negative_slope))
  if isinstance(layer, keras.layers.ReLU):
    a, t = float(layer.negative_slope), float(layer.threshold)
    m = None if layer.max_value is None else float(layer.max_value)
    if a == 0 and t == 0 and m is None:
      return NONLINEARITIES["relu"]
    if a == 0 and t == 0 and m == 6:
      return NONLINEARITIES["relu6"]
    breaks, slopes = (t,), (a, 1.0)
    if m is not None:
      breaks, slopes = (t, m), (a, 1.0, 0.0)
    return piecewise_linear(f"relu(slope={a:g}, threshold={t:g}, max={m})", layer, breaks,
                            slopes)
  return None
