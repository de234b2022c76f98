"""The exact number of linear-region transitions along a line segment or an ellipse.

For a piecewise-linear network, inside one linear region every hidden pre-activation is an
affine function of the input, and the path is affine in its parameters: a segment
x(t) = x0 + t·(x1 − x0) is affine in t, and an ellipse z(φ) = c + a cos φ + b sin φ is affine
in (cos φ, sin φ). So, inside a region, each pre-activation is

    segment:  α + β t             ellipse:  α + β cos φ + γ sin φ,

and the next point where any neuron reaches a breakpoint of its nonlinearity has a closed
form (a linear equation, or R cos(φ − θ) = level). Walking from event to event, updating the
one neuron that crossed (its code moves by ±1: a continuous path passes through every piece
in between) and recomputing α, β, γ for the new region, counts every crossing exactly, in
float64. This is the test oracle of the sampled counter (`sensitivity_tf.metrics.transitions`): in
float64 the sampled count never exceeds it, and reaches it once k resolves every pair of
nearby crossings.

Only for piecewise-linear nonlinearities (not tanh). Cost: one small forward pass (three
rows) per crossing; meant for test-sized and moderately sized networks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List

import keras
import numpy as np

from sensitivity_tf.networks import models

TWO_PI = 2.0 * math.pi


@dataclasses.dataclass
class ExactTransitions:
  count: int
  positions: np.ndarray   # parameter (t or φ) of each crossing, increasing
  neurons: np.ndarray     # index (into the concatenated codes) of the neuron that crossed


class _Network:
  """float64 weights, breakpoints and per-piece affine maps h = slope·z + offset."""

  def __init__(self, model: keras.Model):
    self.nl = models.nonlinearity_of(model)
    if not self.nl.piecewise_linear:
      raise ValueError(f"the exact counter needs a piecewise-linear network; "
                       f"{self.nl.name!r} is smooth")
    self.layers = [(l.kernel.numpy().astype(np.float64), l.bias.numpy().astype(np.float64))
                   for l in models.hidden_layers(model)]
    self.breakpoints = np.asarray(self.nl.breakpoints, np.float64)
    self.slopes = np.asarray(self.nl.slopes, np.float64)
    # offset of piece i: continuity at the breakpoints, f(z) = slope_i z + offset_i.
    fn = {"relu": lambda z: max(z, 0.0), "relu6": lambda z: min(max(z, 0.0), 6.0),
          "hard_tanh": lambda z: min(max(z, -1.0), 1.0),
          "hard_sigmoid": lambda z: min(max(z + 3.0, 0.0), 6.0) / 6.0}[self.nl.name]
    inner = ([self.breakpoints[0] - 1.0]
             + [(lo + hi) / 2 for lo, hi in zip(self.breakpoints[:-1], self.breakpoints[1:])]
             + [self.breakpoints[-1] + 1.0])
    self.offsets = np.array([fn(z) - s * z for z, s in zip(inner, self.slopes)])

  def coefficients(self, basis: np.ndarray, codes: List[np.ndarray]) -> List[np.ndarray]:
    """Per layer (m, width): the pre-activations' coefficients on the path's basis rows
    (row 0 is the constant term), inside the region of the given codes."""
    out = []
    h = basis
    for l, (w, b) in enumerate(self.layers):
      z = h @ w
      z[0] += b
      out.append(z)
      h = z * self.slopes[codes[l]][None]
      h[0] += self.offsets[codes[l]]
    return out

  def codes_at(self, x: np.ndarray) -> List[np.ndarray]:
    codes = []
    h = x
    for w, b in self.layers:
      z = h @ w + b
      c = np.searchsorted(self.breakpoints, z, side="right")
      codes.append(c)
      h = z * self.slopes[c] + self.offsets[c]
    return codes


def _next_on_segment(coef: np.ndarray, level: np.ndarray, after: float) -> np.ndarray:
  """Smallest t > after with α + β t = level, per neuron (inf if none)."""
  alpha, beta = coef[0], coef[1]
  with np.errstate(divide="ignore", invalid="ignore"):
    t = (level - alpha) / beta
  return np.where(np.isfinite(t) & (t > after), t, np.inf)


def _next_on_ellipse(coef: np.ndarray, level: np.ndarray, after: float) -> np.ndarray:
  """Smallest φ > after with α + β cos φ + γ sin φ = level, per neuron (inf if none)."""
  alpha, beta, gamma = coef
  r = np.hypot(beta, gamma)
  theta = np.arctan2(gamma, beta)
  with np.errstate(divide="ignore", invalid="ignore"):
    ratio = (level - alpha) / r
  best = np.full(alpha.shape, np.inf)
  ok = np.abs(ratio) <= 1.0
  delta = np.arccos(np.clip(ratio, -1.0, 1.0))
  for root in (theta + delta, theta - delta):
    # the first representative of root (mod 2π) strictly after `after`
    phi = root + TWO_PI * np.ceil((after - root) / TWO_PI)
    phi = np.where(phi <= after, phi + TWO_PI, phi)
    best = np.where(ok & (phi < best), phi, best)
  return best


def _walk(model: keras.Model, basis: np.ndarray, start: np.ndarray, end: float,
          solver) -> ExactTransitions:
  net = _Network(model)
  codes = net.codes_at(start[None])
  codes = [c[0] for c in codes]
  widths = [len(c) for c in codes]
  layer_start = np.cumsum([0] + widths[:-1])
  n_pieces = len(net.breakpoints) + 1
  position = 0.0
  last_neuron = None
  positions, neurons = [], []
  while True:
    coefs = net.coefficients(basis, codes)
    best, best_neuron, best_direction = np.inf, None, 0
    for l, coef in enumerate(coefs):
      c = codes[l]
      lower = np.where(c > 0, net.breakpoints[np.maximum(c - 1, 0)], np.nan)
      upper = np.where(c < n_pieces - 1, net.breakpoints[np.minimum(c, n_pieces - 2)], np.nan)
      for level, direction in ((lower, -1), (upper, +1)):
        candidates = solver(coef, level, position)
        candidates = np.where(np.isnan(level), np.inf, candidates)
        if last_neuron is not None and last_neuron[0] == l:
          # the neuron that just crossed sits on its breakpoint: ignore that same root
          j = last_neuron[1]
          if candidates[j] - position < 1e-12:
            candidates[j] = np.inf
        j = int(np.argmin(candidates))
        if candidates[j] < best:
          best, best_neuron, best_direction = candidates[j], (l, j), direction
    if best >= end:
      break
    l, j = best_neuron
    codes[l] = codes[l].copy()
    codes[l][j] += best_direction
    position = best
    last_neuron = best_neuron
    positions.append(best)
    neurons.append(layer_start[l] + j)
  if solver is _next_on_ellipse:
    # A closed loop must end in the region it started in; anything else is a numerical
    # failure of the walk, never to be returned as a count.
    back = net.codes_at(start[None])
    if any(not np.array_equal(a[0], b) for a, b in zip(back, codes)):
      raise ArithmeticError("exact transition walk did not close the loop")
  return ExactTransitions(count=len(positions), positions=np.array(positions),
                          neurons=np.array(neurons, np.int64))


def along_segment(model: keras.Model, x0, x1) -> ExactTransitions:
  """Exact crossings of the segment x0 → x1 (parameter t in [0, 1))."""
  x0, x1 = np.asarray(x0, np.float64), np.asarray(x1, np.float64)
  return _walk(model, np.stack([x0, x1 - x0]), x0, 1.0, _next_on_segment)


def along_ellipse(model: keras.Model, ellipse) -> ExactTransitions:
  """Exact crossings around the closed ellipse, φ in (0, 2π)."""
  return _walk(model, ellipse.basis, ellipse.at(0.0), TWO_PI, _next_on_ellipse)


def exact_bin_counts(result: ExactTransitions, bins: int) -> np.ndarray:
  """Crossings per equal-angle bin of [0, 2π) (for densities along an ellipse)."""
  idx = np.minimum((result.positions / TWO_PI * bins).astype(int), bins - 1)
  return np.bincount(idx, minlength=bins)
