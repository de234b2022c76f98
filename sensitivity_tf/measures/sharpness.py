"""Sharpness and PAC-Bayes flatness measures, found by bisection on the scale of a weight
perturbation (Jiang et al. 2020, Appendix C.5 and Algorithms 1–2 of their Appendix D;
Jiang et al.'s numbers in brackets).

w is the vector of every trainable parameter (kernels and biases), w⁰ its initial value,
ω its length and m the number of training examples. A perturbation u of w moves the
training accuracy (on the labels trained on) from acc(w) to acc(w + u); the **accuracy
drop** is acc(w) − acc(w + u), and the target is ``target_drop`` = 0.1 (Jiang et al.'s
"0.1 deviation of the training accuracy"; ±``tolerance`` = 0.01 ends the search early).

* **PAC-Bayes** (average case): σ' is the scale at which the mean accuracy drop over
  ``mc_draws`` Monte-Carlo draws u ~ N(0, σ'² I) reaches the target; **magnitude-aware**:
  u_i ~ N(0, σ'² w_i² + ε²), ε = ``magnitude_eps`` = 1e-3.
* **Sharpness** (worst case): α' is the scale at which the largest accuracy drop found in
  the box |u_i| ≤ α' (magnitude-aware: |u_i| ≤ α'|w_i| + ε) reaches the target. The worst
  case is searched **[ours: Jiang et al. use gradient ascent with clipping; the step rule
  is ours]** by projected sign-gradient ascent on the training cross-entropy: a uniform
  random start in the box, then ``sharpness_steps`` steps u ← clip(u + 2.5 h sign(∇_u L) /
  steps, −h, h), h the box's half-width per coordinate; the drop is the largest over the
  start, the iterates and the end point.

Search (both) **[ours: on a log scale; Jiang et al. bisect an interval linearly]**: a
bracket [lower, upper] with the drop below the target at lower and at or above it at upper,
found from ``scale_start`` = 2 by steps of a factor 4 up or down (at most 10; the scales of
trained networks span decades, which a linear bisection of [0, 2] does not resolve), then
``search_iterations`` bisection steps at the geometric midpoint √(lower · upper); the scale
returned is the last midpoint evaluated, or the first within the tolerance.
Every evaluation reuses the same draws (common random numbers: draw k of every scale is
the same standard normal vector z_k times the scale, z_k from NumPy's generator seeded by
(``seed``, k), kept in float32; the sharpness start likewise), so the drop is a deterministic function of
the scale and the search is reproducible. If the target is never reached (a network at
chance accuracy cannot drop by 0.1), the scale and its measures are NaN; if even the
smallest scale tried drops the accuracy by the target, that scale is returned (a bound).
The search runs on ``train_points`` training examples (0: all; a seeded subset otherwise
**[ours]**).

Measures (σ', α' as above; logs natural; m as in the bounds of Jiang et al.):

* ``pacbayes_flatness`` (#53): 1/σ'²; ``pacbayes_mag_flatness`` (#61): 1/σ'² (magnitude-aware);
* ``pacbayes_init`` (#48): ‖w − w⁰‖²/(4σ'²) + log(m/σ') + 10;
* ``pacbayes_orig`` (#49): ‖w‖²/(4σ'²) + log(m/σ') + 10;
* ``pacbayes_mag_init`` (#56): ¼ Σ_i log((ε² + (σ'² + 1)‖w − w⁰‖²/ω) / (ε² + σ'²(w_i −
  w_i⁰)²)) + log(m/σ') + 10 (magnitude-aware σ');
* ``pacbayes_mag_orig`` (#57): the same with ‖w‖² in the numerator;
* ``sharpness_flatness``: 1/α'²; ``sharpness_mag_flatness``: 1/α'² (magnitude-aware).

The searched scales themselves are reported as ``scales`` beside the measures.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf.measures.network import TrainedNetwork

FAMILY = "sharpness"
BRACKET_FACTOR = 4.0
MAX_BRACKET_STEPS = 10


class Landscape:
  """Training accuracy and cross-entropy gradient of a model at perturbed parameters w + u
  (``u`` a flat vector over the trainable variables); `restore` puts w back."""

  def __init__(self, model: keras.Model, x: np.ndarray, y: np.ndarray,
               batch_size: int = 2048):
    self.variables = list(model.trainable_variables)
    self.base = [v.numpy() for v in self.variables]
    self.w = np.concatenate([b.ravel() for b in self.base]).astype(np.float64)
    self.batches = [(tf.constant(x[i:i + batch_size], tf.float32),
                     tf.constant(y[i:i + batch_size], tf.int32))
                    for i in range(0, len(x), batch_size)]
    self.n = len(x)

    def correct(xb, yb, logits):
      return tf.reduce_sum(tf.cast(tf.argmax(logits, 1, output_type=tf.int32) == yb,
                                   tf.float32))

    @tf.function(reduce_retracing=True)
    def count(xb, yb):
      return correct(xb, yb, model(xb, training=False))

    @tf.function(reduce_retracing=True)
    def gradient(xb, yb):
      with tf.GradientTape() as tape:
        logits = model(xb, training=False)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
      return tape.gradient(loss, self.variables), correct(xb, yb, logits)

    self._count, self._gradient = count, gradient

  def set(self, u: np.ndarray) -> None:
    start = 0
    for v, b in zip(self.variables, self.base):
      v.assign((b + u[start:start + b.size].reshape(b.shape)).astype(b.dtype))
      start += b.size

  def restore(self) -> None:
    for v, b in zip(self.variables, self.base):
      v.assign(b)

  def accuracy(self) -> float:
    return float(sum(float(self._count(xb, yb)) for xb, yb in self.batches)) / self.n

  def gradient(self) -> Tuple[np.ndarray, float]:
    """(∇_u of the summed cross-entropy at the current parameters, accuracy there)."""
    total, right = np.zeros_like(self.w), 0.0
    for xb, yb in self.batches:
      grads, c = self._gradient(xb, yb)
      total += np.concatenate([np.ravel(g.numpy()) for g in grads])
      right += float(c)
    return total, right / self.n


def bisect(drop: Callable[[float], float], settings) -> float:
  """The scale at which ``drop`` reaches ``settings.target_drop`` (module docstring)."""
  target, tolerance = settings.target_drop, settings.tolerance
  lower = upper = float(settings.scale_start)
  steps = 0
  while drop(upper) < target:  # bracket from above
    if steps == MAX_BRACKET_STEPS:
      return math.nan
    lower, upper, steps = upper, BRACKET_FACTOR * upper, steps + 1
  if lower == upper:  # bracket from below
    lower = upper / BRACKET_FACTOR
    while drop(lower) >= target:
      if steps == MAX_BRACKET_STEPS:
        return lower
      lower, upper, steps = lower / BRACKET_FACTOR, lower, steps + 1
  mid = upper
  for _ in range(settings.search_iterations):
    mid = math.sqrt(lower * upper)
    d = drop(mid)
    if abs(d - target) <= tolerance:
      return mid
    if d > target:
      upper = mid
    else:
      lower = mid
  return mid


def _normal(seed: int, k: int, size: int) -> np.ndarray:
  return np.random.default_rng([seed, k]).standard_normal(size)


def pacbayes_drop(land: Landscape, acc0: float, settings, magnitude: bool):
  """The mean accuracy drop over the Monte-Carlo draws, as a function of σ (the draws are
  generated once, kept in float32, and reused at every σ)."""
  eps, w = settings.magnitude_eps, land.w
  draws = [_normal(settings.seed, k, w.size).astype(np.float32)
           for k in range(settings.mc_draws)]
  w2 = (w ** 2).astype(np.float32)

  def drop(sigma: float) -> float:
    accs = []
    for z in draws:
      land.set(z * (np.sqrt(np.float32(sigma ** 2) * w2 + np.float32(eps ** 2)) if magnitude
                    else np.float32(sigma)))
      accs.append(land.accuracy())
    land.restore()
    return acc0 - float(np.mean(accs))
  return drop


def sharpness_drop(land: Landscape, acc0: float, settings, magnitude: bool):
  """The largest accuracy drop found in the box of scale α, as a function of α."""
  eps, w = settings.magnitude_eps, land.w
  start = np.random.default_rng([settings.seed, 1 << 20]).uniform(-1, 1, w.size)
  steps = settings.sharpness_steps

  def drop(alpha: float) -> float:
    half = alpha * np.abs(w) + eps if magnitude else np.full(w.size, alpha)
    u = start * half
    worst = 0.0
    for _ in range(steps):
      land.set(u)
      grad, acc = land.gradient()
      worst = max(worst, acc0 - acc)
      u = np.clip(u + 2.5 * half * np.sign(grad) / steps, -half, half)
    land.set(u)
    worst = max(worst, acc0 - land.accuracy())
    land.restore()
    return worst
  return drop


def search_subset(net: TrainedNetwork, settings) -> Tuple[np.ndarray, np.ndarray]:
  n = net.num_train
  if not settings.train_points or settings.train_points >= n:
    return net.x_train, net.y_train
  idx = np.sort(np.random.default_rng([settings.seed, 3]).choice(
      n, settings.train_points, replace=False))
  return net.x_train[idx], net.y_train[idx]


def scales(net: TrainedNetwork, settings) -> Dict[str, float]:
  """σ' and α', plain and magnitude-aware (module docstring)."""
  land = Landscape(net.model, *search_subset(net, settings))
  try:
    acc0 = land.accuracy()
    return dict(
        pacbayes_sigma=bisect(pacbayes_drop(land, acc0, settings, False), settings),
        pacbayes_mag_sigma=bisect(pacbayes_drop(land, acc0, settings, True), settings),
        sharpness_alpha=bisect(sharpness_drop(land, acc0, settings, False), settings),
        sharpness_mag_alpha=bisect(sharpness_drop(land, acc0, settings, True), settings))
  finally:
    land.restore()


def bounds(w: np.ndarray, w0: np.ndarray, m: int, found: Dict[str, float],
           eps: float) -> Dict[str, float]:
  """The measures of the module docstring from the scales ``found``."""
  sigma, mag = found["pacbayes_sigma"], found["pacbayes_mag_sigma"]
  dist2, norm2, omega = float(np.sum((w - w0) ** 2)), float(np.sum(w ** 2)), w.size

  def mag_bound(reference2: float) -> float:
    numerator = eps ** 2 + (mag ** 2 + 1) * reference2 / omega
    denominator = eps ** 2 + mag ** 2 * (w - w0) ** 2
    return float(0.25 * np.sum(np.log(numerator / denominator)) + math.log(m / mag) + 10)
  return dict(
      pacbayes_flatness=1 / sigma ** 2,
      pacbayes_init=dist2 / (4 * sigma ** 2) + math.log(m / sigma) + 10,
      pacbayes_orig=norm2 / (4 * sigma ** 2) + math.log(m / sigma) + 10,
      pacbayes_mag_flatness=1 / mag ** 2,
      pacbayes_mag_init=mag_bound(dist2),
      pacbayes_mag_orig=mag_bound(norm2),
      sharpness_flatness=1 / found["sharpness_alpha"] ** 2,
      sharpness_mag_flatness=1 / found["sharpness_mag_alpha"] ** 2)


def compute(net: TrainedNetwork, settings) -> Dict[str, float]:
  found = scales(net, settings)
  w, w0 = net.parameter_vectors()
  with np.errstate(divide="ignore", invalid="ignore"):
    out = bounds(w, w0, net.num_train, found, settings.magnitude_eps)
  return dict(out, **{f"scale_{k}": v for k, v in found.items()})
