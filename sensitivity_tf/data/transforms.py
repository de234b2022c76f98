"""Preprocessing and the seeded dataset options: subsets, random labels, standardization.

Preprocessing [ours, docs/method.md §3]: images are flattened (row-major, channels last) and pixels
scaled to [0, 1] by dividing by 255, in float32 (float images already in [0, 1] are kept). Optional per-feature standardization
subtracts the training-set mean of each feature and divides by its training-set standard
deviation; features with zero standard deviation (constant border pixels of MNIST) are
divided by 1 instead.

Each option draws from its own seed, so that changing one never changes another.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np


def scale_and_flatten(images: np.ndarray) -> np.ndarray:
  """uint8 ``(N, H, W, C)`` -> float32 ``(N, H*W*C)`` in [0, 1]; float images (already in
  [0, 1], the float layout of `validation`) are only flattened."""
  flat = images.reshape(len(images), -1)
  if np.issubdtype(images.dtype, np.floating):
    return flat.astype(np.float32)
  return flat.astype(np.float32) / np.float32(255.0)


def feature_statistics(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Per-feature mean and standard deviation (float64 accumulation), float32 results."""
  mean = x.mean(axis=0, dtype=np.float64)
  std = x.std(axis=0, dtype=np.float64)
  return mean.astype(np.float32), std.astype(np.float32)


def standardization(mean: np.ndarray, std: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """(shift, scale) with ``x_std = (x - shift) / scale``; zero-std features keep scale 1."""
  return mean, np.where(std > 0, std, np.float32(1.0)).astype(np.float32)


def stratified_subset(labels: np.ndarray, size: int, num_classes: int, seed: int) -> np.ndarray:
  """Indices (sorted) of a class-stratified random subset of ``size`` examples.

  Class c gets ``floor(size * n_c / n)`` examples; the remaining slots go to the classes
  with the largest fractional parts (ties broken by class index), so the subset's class
  proportions match the full set's to within one example per class.
  """
  n = len(labels)
  if not 0 < size <= n:
    raise ValueError(f"train_subset={size} is invalid; allowed: 1..{n} (0 means the full set)")
  counts = np.bincount(labels, minlength=num_classes)
  exact = size * counts / n
  take = np.floor(exact).astype(int)
  remainder = size - take.sum()
  order = sorted(range(num_classes), key=lambda c: (-(exact[c] - take[c]), c))
  for c in order[:remainder]:
    take[c] += 1
  rng = np.random.default_rng(seed)
  chosen = [rng.choice(np.flatnonzero(labels == c), size=take[c], replace=False)
            for c in range(num_classes) if take[c]]
  return np.sort(np.concatenate(chosen))


def randomize_labels(labels: np.ndarray, fraction: float, num_classes: int,
                     seed: int) -> Tuple[np.ndarray, np.ndarray]:
  """Replaces ``round(fraction * n)`` labels, chosen at random, by uniform random classes.

  A replaced label may by chance equal the true one (as in Zhang et al. 2017), so about
  ``fraction * (1 - 1/num_classes)`` of the labels end up wrong. Returns the new labels and
  the boolean mask of the replaced positions.
  """
  if not 0.0 <= fraction <= 1.0:
    raise ValueError(f"random_label_fraction={fraction} is invalid; allowed: 0 <= f <= 1")
  rng = np.random.default_rng(seed)
  n = len(labels)
  replaced = np.zeros(n, bool)
  replaced[rng.permutation(n)[:int(round(fraction * n))]] = True
  new = labels.copy()
  new[replaced] = rng.integers(0, num_classes, size=int(replaced.sum()))
  return new, replaced
