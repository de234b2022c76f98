"""Transitions between linear regions along closed trajectories (docs/method.md §1.2), sampled.

Every hidden neuron has an integer **code**, the linear piece of its nonlinearity its
pre-activation lies in (`sensitivity_tf.nonlinearities`); c(x) concatenates the codes of all
hidden layers (the logit layer is affine and has none). Along a closed trajectory sampled
at k points z_0 … z_{k−1},

    t = Σ_{i=0}^{k−1} ‖c(z_i) − c(z_{(i+1) mod k})‖₁,

so a neuron that jumps from piece 0 to piece 2 between two samples counts 2, and the step
from the last sample back to the first is counted (the loop is closed). Sampling misses
crossings that undo each other between two samples, so t grows towards the exact count as k
grows (`sensitivity_tf.exact_transitions` is the exact counter used as the oracle).

**Transition density** [ours]: transitions per radian of φ in B equal-angle bins, the sum of
the step counts of the k/B steps in a bin (step i goes from φ_i to φ_{i+1}) times B/(2π);
its mean over the loop is t/(2π). k must be a multiple of 6 (so the anchors at π/3, π, 5π/3
are samples) and of B (equal bins).

For tanh networks the code is the sign of the pre-activation: a count of sign changes, not
of linear regions [ours]; results carry ``piecewise_linear=False`` to say so.

The points of an ellipse never exist as inputs: the first layer is affine, so its
pre-activation along the ellipse is z_1(φ) = [1, cos φ, sin φ] (basis · W_1) + bias, with the
(3 × width) product basis · W_1 computed once per ellipse in float64. The compiled function
evaluates the rest of the network chunk by chunk, several ellipses at once, and carries only
one row of codes per ellipse between chunks, so memory never holds k × neurons codes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Sequence

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf import models
from sensitivity_tf.trajectories import Ellipse

DEFAULT_SAMPLES = 3072
DEFAULT_BINS = 64


@dataclasses.dataclass
class TransitionCounts:
  """Sampled transitions along E closed trajectories."""

  counts: np.ndarray       # (E,) int64: t of each loop
  bin_counts: np.ndarray   # (E, B) int64: transitions of the steps in each angle bin
  settings: dict

  @property
  def densities(self) -> np.ndarray:
    """(E, B) transitions per radian in each bin."""
    bins = self.bin_counts.shape[1]
    return self.bin_counts * (bins / (2.0 * math.pi))


def check_sampling(num_samples: int, bins: int) -> None:
  if not (isinstance(num_samples, (int, np.integer)) and num_samples >= 6 and num_samples % 6 == 0):
    raise ValueError(f"num_samples={num_samples} is invalid; allowed: a positive multiple of 6")
  if not (isinstance(bins, (int, np.integer)) and bins >= 1 and num_samples % bins == 0):
    raise ValueError(f"bins={bins} is invalid; allowed: a divisor of num_samples={num_samples}")


class TransitionCounter:
  """Counts sampled transitions of ``model`` along ellipses.

  Args:
    model: an FC network from `sensitivity_tf.models`.
    num_samples: k, samples per loop (default 3072).
    bins: B, angle bins of the density (default 64).
    chunk_size: points evaluated per compiled call (split among the ellipses of a batch).
    dtype: ``"float32"`` (the network as trained) or ``"float64"`` (weights cast; what the
      exact counter is compared with).
  """

  def __init__(self, model: keras.Model, num_samples: int = DEFAULT_SAMPLES,
               bins: int = DEFAULT_BINS, chunk_size: int = 4096, dtype: str = "float32"):
    check_sampling(num_samples, bins)
    if dtype not in ("float32", "float64"):
      raise ValueError(f"dtype={dtype!r} is invalid; allowed: float32, float64")
    self.num_samples = int(num_samples)
    self.bins = int(bins)
    self.dtype = tf.as_dtype(dtype)
    self.nonlinearity = models.nonlinearity_of(model)
    self.depth = models.depth(model)
    if self.depth == 0:
      raise ValueError("a network of depth 0 has no hidden neurons and no transitions")
    self._layers = [(tf.constant(l.kernel.numpy(), self.dtype), tf.constant(l.bias.numpy(), self.dtype))
                    for l in models.hidden_layers(model)]
    self.num_neurons = sum(int(w.shape[1]) for w, _ in self._layers)
    self.chunk_size = int(chunk_size)
    self._fn = tf.function(self._chunk, input_signature=[
        tf.TensorSpec((None, 3, None), self.dtype),   # (E, 3, w_1): rows c, a, b times W_1
        tf.TensorSpec((None,), self.dtype),           # (m,) angles of this chunk
        tf.TensorSpec((None, self.num_neurons), tf.int8)])  # (E, N) codes of the last sample

  @property
  def settings(self) -> dict:
    return dict(num_samples=self.num_samples, bins=self.bins, dtype=self.dtype.name,
                nonlinearity=self.nonlinearity.name,
                piecewise_linear=self.nonlinearity.piecewise_linear,
                code=("linear piece" if self.nonlinearity.piecewise_linear
                      else "sign of the pre-activation (not a linear region)"))

  def codes(self, x) -> tf.Tensor:
    """(n, N) int8 codes of points ``x`` (n, d), all hidden layers concatenated."""
    w, b = self._layers[0]
    return self._codes_from_first(tf.matmul(tf.cast(x, self.dtype), w) + b)

  def _codes_from_first(self, z) -> tf.Tensor:
    """Codes of all hidden layers given the first hidden pre-activation ``z`` (n, w_1)."""
    out = [self.nonlinearity.code(z)]
    for w, b in self._layers[1:]:
      z = tf.matmul(self.nonlinearity.fn(z), w) + b
      out.append(self.nonlinearity.code(z))
    return tf.concat(out, axis=1)

  def _chunk(self, projected, phis, previous):
    """Step counts of one chunk of angles for E ellipses; ``projected`` (E, 3, w_1) is each
    ellipse's (c, a, b) times the first kernel, so the first layer costs 3 x w_1 per point
    instead of d x w_1: z_1(φ) = [1, cos φ, sin φ] (basis W_1) + bias."""
    e, m = tf.shape(projected)[0], tf.shape(phis)[0]
    trig = tf.stack([tf.ones_like(phis), tf.cos(phis), tf.sin(phis)], axis=1)     # (m, 3)
    z1 = tf.einsum("mj,ejw->emw", trig, projected) + self._layers[0][1]          # (E, m, w_1)
    codes = tf.reshape(self._codes_from_first(tf.reshape(z1, (e * m, -1))),
                       (e, m, self.num_neurons))
    with_previous = tf.concat([previous[:, None, :], codes], axis=1)             # (E, m+1, N)
    after, before = with_previous[:, 1:], with_previous[:, :-1]
    # ‖Δc‖₁ per step as the number of changed codes, plus the changes by 2 of 3-piece
    # units; float32 sums of 0/1 (exact below 2^24) are the fastest reduction here.
    changed = tf.cast(tf.not_equal(after, before), tf.float32)
    if self.nonlinearity.num_pieces > 2:
      changed += tf.cast(tf.abs(after - before) > 1, tf.float32)
    steps = tf.cast(tf.reduce_sum(changed, axis=2), tf.int64)
    return steps, codes[:, -1]

  def along(self, ellipses: Sequence[Ellipse]) -> TransitionCounts:
    """Transitions along each ellipse (closed loops of ``num_samples`` samples)."""
    if not ellipses:
      return TransitionCounts(np.zeros(0, np.int64), np.zeros((0, self.bins), np.int64),
                              self.settings)
    k = self.num_samples
    phis = (2.0 * math.pi * np.arange(k) / k).astype(self.dtype.as_numpy_dtype)
    per_call = max(1, self.chunk_size // len(ellipses))
    w1 = self._layers[0][0].numpy().astype(np.float64)
    projected = tf.constant(np.stack([e.basis for e in ellipses]) @ w1, self.dtype)
    steps = np.zeros((len(ellipses), k), np.int64)  # step i: from sample i-1 to sample i
    first = self._codes_from_first(projected[:, 0] + projected[:, 1] + self._layers[0][1])
    previous = first
    for start in range(0, k, per_call):
      s, previous = self._fn(projected, phis[start:start + per_call], previous)
      steps[:, start:start + per_call] = s.numpy()
    # steps[:, 0] compared sample 0 with itself; replace it by the wrap-around step from
    # the last sample back to sample 0, and rotate so that column i is the step i -> i+1.
    wrap = tf.reduce_sum(tf.abs(tf.cast(previous, tf.int32) - tf.cast(first, tf.int32)), axis=1)
    steps[:, 0] = wrap.numpy()
    steps = np.roll(steps, -1, axis=1)
    bin_counts = steps.reshape(len(ellipses), self.bins, k // self.bins).sum(axis=2)
    return TransitionCounts(counts=steps.sum(axis=1), bin_counts=bin_counts,
                            settings=self.settings)


def count_transitions(model: keras.Model, ellipses: List[Ellipse], **kwargs) -> TransitionCounts:
  """Convenience: ``TransitionCounter(model, **kwargs).along(ellipses)``."""
  return TransitionCounter(model, **kwargs).along(ellipses)
