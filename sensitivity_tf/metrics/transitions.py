"""Transitions between linear regions along closed trajectories (docs/method.md §1.2), sampled.

Every hidden neuron has an integer **code**, the linear piece of its nonlinearity its
pre-activation lies in (`sensitivity_tf.networks.nonlinearities`); c(x) concatenates the codes of all
hidden layers (the logit layer is affine and has none). Along a closed trajectory sampled
at k points z_0 … z_{k−1},

    t = Σ_{i=0}^{k−1} ‖c(z_i) − c(z_{(i+1) mod k})‖₁,

so a neuron that jumps from piece 0 to piece 2 between two samples counts 2, and the step
from the last sample back to the first is counted (the loop is closed). Sampling misses
crossings that undo each other between two samples, so t grows towards the exact count as k
grows (`sensitivity_tf.metrics.exact_transitions` is the exact counter used as the oracle).

**Transition density** [ours]: transitions per radian of φ in B equal-angle bins, the sum of
the step counts of the k/B steps in a bin (step i goes from φ_i to φ_{i+1}) times B/(2π);
its mean over the loop is t/(2π). k must be a multiple of 6 (so the anchors at π/3, π, 5π/3
are samples) and of B (equal bins).

For tanh networks the code is the sign of the pre-activation: a count of sign changes, not
of linear regions [ours]; results carry ``piecewise_linear=False`` to say so.

**Any Keras model** (``route="graph"``): a model that is not a plain Dense stack (a CNN, say)
gets its codes from every code site `sensitivity_tf.networks.classifier.code_sites` finds: every
activation, conv feature maps included, fused activations through their recomputed
pre-activation, and the argmax position within each max-pooling window. An argmax code is
categorical: a change counts 1, whatever the positions (a 3-piece unit jumping two pieces
counts 2, as above). Ties between equal maxima (e.g. several ReLUs off in one window) keep
the first position and change only when the ReLU codes do, so such a step counts in both
codes: the count is that of code changes, an upper bound on region changes at the same k.
A layer whose codes cannot be obtained is refused by name. The exact counter
(`sensitivity_tf.metrics.exact_transitions`) stays FC-only.

For a plain Dense stack the points of an ellipse never exist as inputs: the first layer is affine, so its
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

from sensitivity_tf.networks import classifier
from sensitivity_tf.metrics.trajectories import Ellipse

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
    model: a Keras classifier: a plain Dense stack (``route="fc"``, the first-layer
      projection of the module docstring) or any model whose codes `classifier.code_sites`
      can obtain (``route="graph"``).
    num_samples: k, samples per loop (default 3072).
    bins: B, angle bins of the density (default 64).
    chunk_size: points evaluated per compiled call (split among the ellipses of a batch;
      the graph route takes fewer so that a chunk's codes stay near 8 MB).
    dtype: ``"float32"`` (the network as trained) or ``"float64"`` (weights cast; what the
      exact counter is compared with; FC route only).
    route: ``"auto"`` (FC for plain Dense stacks, graph otherwise), ``"fc"`` or ``"graph"``.
  """

  def __init__(self, model: keras.Model, num_samples: int = DEFAULT_SAMPLES,
               bins: int = DEFAULT_BINS, chunk_size: int = 4096, dtype: str = "float32",
               route: str = "auto"):
    check_sampling(num_samples, bins)
    if route not in ("auto", "fc", "graph"):
      raise ValueError(f"route={route!r} is invalid; allowed: auto, fc, graph")
    if dtype not in ("float32", "float64"):
      raise ValueError(f"dtype={dtype!r} is invalid; allowed: float32, float64")
    self.num_samples = int(num_samples)
    self.bins = int(bins)
    self.dtype = tf.as_dtype(dtype)
    self.chunk_size = int(chunk_size)
    stack = classifier.fc_stack(model) if route != "graph" else None
    if route == "fc" and stack is None:
      raise classifier.ClassifierError(f"model {model.name!r} is not a plain Dense stack; the "
                                       "fc route cannot be used (allowed: auto, graph)")
    if stack is not None:
      self._init_fc(stack)
    else:
      if self.dtype != tf.float32:
        raise ValueError("dtype='float64' needs a plain Dense stack (the FC route)")
      self._init_graph(model)
    self._fn = tf.function(self._chunk, input_signature=[
        tf.TensorSpec((None, 3, None), self.dtype),   # (E, 3, w_1): rows c, a, b times W_1
        tf.TensorSpec((None,), self.dtype),           # (m,) angles of this chunk
        tf.TensorSpec((None, self.num_neurons), tf.int8)])  # (E, N) codes of the last sample

  def _init_fc(self, stack: classifier.FCStack) -> None:
    self.route = "fc"
    if stack.depth == 0:
      raise ValueError("a network of depth 0 has no hidden neurons and no transitions")
    self.depth = stack.depth
    self.input_shape = stack.input_shape
    self._nonlinearities = [nl for _, _, nl in stack.hidden]
    self._layers = [(tf.constant(w, self.dtype), tf.constant(b, self.dtype))
                    for w, b, _ in stack.hidden]
    self._first_kernel = stack.hidden[0][0].astype(np.float64)
    self._first_bias = self._layers[0][1]
    widths = [int(w.shape[1]) for w, _ in self._layers]
    self.num_neurons = sum(widths)
    self._ordinal = np.concatenate([np.full(n, nl.num_pieces > 2)
                                    for n, nl in zip(widths, self._nonlinearities)])
    self.sites = [f"{name}: {nl.name}" for name, nl in zip(stack.layer_names,
                                                            self._nonlinearities)]

  def _init_graph(self, model: keras.Model) -> None:
    self.route = "graph"
    sites, self._site_model = classifier.code_sites(model)
    self._sites = sites
    self.input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    self._nonlinearities = [s.nonlinearity for s in sites if s.kind == "activation"]
    self.depth = len(sites)
    outputs = self._site_model.outputs
    sizes = []
    for site, t in zip(sites, outputs):
      shape = list(t.shape[1:])
      if site.kind == "max_pool":
        shape[0] //= site.pool_size[0]
        shape[1] //= site.pool_size[1]
      sizes.append(int(np.prod(shape)))
    self.num_neurons = sum(sizes)
    self._ordinal = np.concatenate([
        np.full(n, s.kind == "activation" and s.nonlinearity.num_pieces > 2)
        for n, s in zip(sizes, sites)])
    self._first_kernel = None
    self._first_bias = tf.zeros((int(np.prod(self.input_shape)),), self.dtype)
    self.chunk_size = max(6, min(self.chunk_size, 2 ** 23 // max(self.num_neurons, 1)))
    self.sites = [f"{s.layer_name}: " + (f"max pooling argmax {s.pool_size}"
                  if s.kind == "max_pool" else s.nonlinearity.name) for s in sites]

  @property
  def piecewise_linear(self) -> bool:
    return all(nl.piecewise_linear for nl in self._nonlinearities)

  @property
  def settings(self) -> dict:
    names = sorted({nl.name for nl in self._nonlinearities})
    return dict(num_samples=self.num_samples, bins=self.bins, dtype=self.dtype.name,
                route=self.route, nonlinearity=",".join(names),
                piecewise_linear=self.piecewise_linear, code_sites=self.sites,
                code=("linear piece" if self.piecewise_linear
                      else "sign of the pre-activation for smooth units (not a linear region)"))

  def codes(self, x) -> tf.Tensor:
    """(n, N) int8 codes of points ``x`` (n, d), all code sites concatenated."""
    x = tf.reshape(tf.cast(x, self.dtype), (tf.shape(x)[0], -1))
    if self.route == "fc":
      w, b = self._layers[0]
      return self._codes_from_first(tf.matmul(x, w) + b)
    return self._codes_from_first(x)

  def _codes_from_first(self, z) -> tf.Tensor:
    """Codes of all sites given the first hidden pre-activation ``z`` (n, w_1) (FC route)
    or the flat inputs themselves (graph route)."""
    if self.route == "graph":
      x = tf.reshape(z, (-1,) + tuple(self.input_shape))
      return classifier.site_codes(self._sites, self._site_model(x, training=False))
    nls = self._nonlinearities
    out = [nls[0].code(z)]
    for (w, b), previous, nl in zip(self._layers[1:], nls, nls[1:]):
      z = tf.matmul(previous.fn(z), w) + b
      out.append(nl.code(z))
    return tf.concat(out, axis=1)

  def _step(self, after, before):
    """‖Δc‖₁ between two code rows (..., N) -> (...,) int64: the number of changed codes,
    plus the changes by 2 of 3-piece units (categorical argmax codes count 1 per change);
    float32 sums of 0/1 (exact below 2^24) are the fastest reduction here."""
    changed = tf.cast(tf.not_equal(after, before), tf.float32)
    if self._ordinal.any():
      jumps = tf.logical_and(tf.abs(after - before) > 1, tf.constant(self._ordinal))
      changed += tf.cast(jumps, tf.float32)
    return tf.cast(tf.reduce_sum(changed, axis=-1), tf.int64)

  def _chunk(self, projected, phis, previous):
    """Step counts of one chunk of angles for E ellipses; ``projected`` (E, 3, w_1) is each
    ellipse's (c, a, b) times the first kernel, so the first layer costs 3 x w_1 per point
    instead of d x w_1: z_1(φ) = [1, cos φ, sin φ] (basis W_1) + bias."""
    e, m = tf.shape(projected)[0], tf.shape(phis)[0]
    trig = tf.stack([tf.ones_like(phis), tf.cos(phis), tf.sin(phis)], axis=1)     # (m, 3)
    z1 = tf.einsum("mj,ejw->emw", trig, projected) + self._first_bias            # (E, m, w_1)
    codes = tf.reshape(self._codes_from_first(tf.reshape(z1, (e * m, -1))),
                       (e, m, self.num_neurons))
    with_previous = tf.concat([previous[:, None, :], codes], axis=1)             # (E, m+1, N)
    after, before = with_previous[:, 1:], with_previous[:, :-1]
    steps = self._step(after, before)
    return steps, codes[:, -1]

  def along(self, ellipses: Sequence[Ellipse]) -> TransitionCounts:
    """Transitions along each ellipse (closed loops of ``num_samples`` samples)."""
    if not ellipses:
      return TransitionCounts(np.zeros(0, np.int64), np.zeros((0, self.bins), np.int64),
                              self.settings)
    k = self.num_samples
    phis = (2.0 * math.pi * np.arange(k) / k).astype(self.dtype.as_numpy_dtype)
    per_call = max(1, self.chunk_size // len(ellipses))
    basis = np.stack([e.basis.reshape(3, -1) for e in ellipses])   # images flattened
    if self._first_kernel is not None:
      basis = basis @ self._first_kernel
    projected = tf.constant(basis, self.dtype)
    steps = np.zeros((len(ellipses), k), np.int64)  # step i: from sample i-1 to sample i
    first = self._codes_from_first(projected[:, 0] + projected[:, 1] + self._first_bias)
    previous = first
    for start in range(0, k, per_call):
      s, previous = self._fn(projected, phis[start:start + per_call], previous)
      steps[:, start:start + per_call] = s.numpy()
    # steps[:, 0] compared sample 0 with itself; replace it by the wrap-around step from
    # the last sample back to sample 0, and rotate so that column i is the step i -> i+1.
    steps[:, 0] = self._step(first, previous).numpy()
    steps = np.roll(steps, -1, axis=1)
    bin_counts = steps.reshape(len(ellipses), self.bins, k // self.bins).sum(axis=2)
    return TransitionCounts(counts=steps.sum(axis=1), bin_counts=bin_counts,
                            settings=self.settings)


def count_transitions(model: keras.Model, ellipses: List[Ellipse], **kwargs) -> TransitionCounts:
  """Convenience: ``TransitionCounter(model, **kwargs).along(ellipses)``."""
  return TransitionCounter(model, **kwargs).along(ellipses)
