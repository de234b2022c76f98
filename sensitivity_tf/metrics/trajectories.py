"""The closed trajectories of docs/method.md §2: ellipses through three points, and their anchors.

The ellipse through x1, x2, x3 placed at angles π/3, π and 5π/3:

    c = (x1 + x2 + x3) / 3,  a = c − x2,  b = (x1 − x3) / √3,
    z(φ) = c + a·cos φ + b·sin φ,  sampled at φ_i = 2πi/k.

Three kinds of anchors (§4.1 of the paper):

* ``random``: three points drawn i.i.d. per feature from N(training mean of that feature,
  training std of that feature), clipped to the valid input range [ours];
* ``different_class``: three training points of three different classes;
* ``same_class``: three training points of one class.

And, for the per-test-point transitions of the survey [ours], the ellipse through a test
point (at π/3) and two other test points. Every draw is made from an explicit seed, which
is recorded with the result.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional

import numpy as np

KINDS = ("random", "different_class", "same_class")
ANCHOR_ANGLES = (math.pi / 3, math.pi, 5 * math.pi / 3)


@dataclasses.dataclass(frozen=True)
class Ellipse:
  """z(φ) = center + a cos φ + b sin φ, through ``anchors`` at π/3, π, 5π/3."""

  center: np.ndarray
  a: np.ndarray
  b: np.ndarray
  anchors: np.ndarray            # (3, d)
  kind: str = "custom"
  anchor_labels: Optional[np.ndarray] = None
  anchor_indices: Optional[np.ndarray] = None

  @classmethod
  def through(cls, x1, x2, x3, **info) -> "Ellipse":
    x1, x2, x3 = (np.asarray(v, np.float64) for v in (x1, x2, x3))
    center = (x1 + x2 + x3) / 3.0
    return cls(center=center, a=center - x2, b=(x1 - x3) / math.sqrt(3.0),
               anchors=np.stack([x1, x2, x3]), **info)

  @property
  def basis(self) -> np.ndarray:
    """(3, d): rows center, a, b, so that z(φ) = [1, cos φ, sin φ] @ basis."""
    return np.stack([self.center, self.a, self.b])

  def at(self, phi) -> np.ndarray:
    phi = np.asarray(phi, np.float64)
    return (self.center + np.cos(phi)[..., None] * self.a + np.sin(phi)[..., None] * self.b)

  def samples(self, k: int) -> np.ndarray:
    """The k points z(2πi/k), i = 0 … k−1, as float64 (k, d)."""
    return self.at(sample_angles(k))


def sample_angles(k: int) -> np.ndarray:
  return 2.0 * math.pi * np.arange(k) / k


def random_anchors(mean: np.ndarray, std: np.ndarray, low, high,
                   rng: np.random.Generator) -> np.ndarray:
  """Three points, each feature ~ N(mean_f, std_f) i.i.d., clipped to [low_f, high_f]."""
  draws = rng.normal(mean, std, size=(3, len(mean)))
  return np.clip(draws, low, high)


def class_anchors(labels: np.ndarray, same_class: bool, rng: np.random.Generator) -> np.ndarray:
  """Indices of three training points: of one class, or of three different classes."""
  classes = np.unique(labels)
  if same_class:
    eligible = [c for c in classes if np.sum(labels == c) >= 3]
    c = rng.choice(eligible)
    return rng.choice(np.flatnonzero(labels == c), size=3, replace=False)
  if len(classes) < 3:
    raise ValueError(f"different-class ellipses need 3 classes; the labels have {len(classes)}")
  chosen = rng.choice(classes, size=3, replace=False)
  return np.array([rng.choice(np.flatnonzero(labels == c)) for c in chosen])


def make_ellipses(kind: str, count: int, seed: int, x_train: np.ndarray = None,
                  y_train: np.ndarray = None, feature_mean=None, feature_std=None,
                  input_low=None, input_high=None) -> List[Ellipse]:
  """``count`` ellipses of one kind, reproducible from ``seed``.

  ``random`` needs the training feature statistics and input range; the class kinds need
  the training points and the labels to choose them by (the true labels).
  """
  if kind not in KINDS:
    raise ValueError(f"unknown trajectory kind {kind!r}; allowed: {', '.join(KINDS)}")
  rng = np.random.default_rng([seed, KINDS.index(kind)])
  out = []
  for _ in range(count):
    if kind == "random":
      x = random_anchors(feature_mean, feature_std, input_low, input_high, rng)
      out.append(Ellipse.through(*x, kind=kind))
    else:
      idx = class_anchors(y_train, kind == "same_class", rng)
      out.append(Ellipse.through(*x_train[idx], kind=kind, anchor_labels=y_train[idx],
                                 anchor_indices=idx))
  return out


def ellipses_through_test_points(x_test: np.ndarray, indices: np.ndarray, seed: int) -> List[Ellipse]:
  """For each test index i, the ellipse through x_test[i] (at π/3) and two other test
  points drawn from ``seed`` (docs/method.md §2, per-test-point transitions [ours])."""
  rng = np.random.default_rng([seed, 7])
  n = len(x_test)
  out = []
  for i in indices:
    others = rng.choice(n - 1, size=2, replace=False)
    others = others + (others >= i)  # skip i itself
    idx = np.array([i, *others])
    out.append(Ellipse.through(*x_test[idx], kind="test_point", anchor_indices=idx))
  return out
