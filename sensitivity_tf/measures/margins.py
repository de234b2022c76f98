"""Margin-based measures: the output margin on the training set, alone and normalised by the
weights' norms.

The margin of a training point (x, y) is f(x)[y] − max_{j≠y} f(x)[j] (f the logits, y the
label trained on). γ is its 10th percentile over the training set (Jiang et al. 2020, who
use the 10th percentile rather than the minimum for robustness; ``margin_percentile``;
NumPy's ``lower`` rule, so γ is one of the margins). Where γ ≤ 0 (more than a tenth of the
training set misclassified) every measure here is undefined and given as NaN **[ours;
Dziugaite et al.'s code takes |γ| instead]**.

With W_i, W_i⁰, d and the logs as in `sensitivity_tf.measures.norms` (Jiang et al.'s
numbers in brackets):

* ``inverse_margin`` (#22): 1/γ²;
* ``log_prod_of_spec_over_margin`` (#31): log(∏_i ‖W_i‖²₂ / γ²);
* ``log_spec_init_main`` (#29, Neyshabur et al. 2018): log(∏_i ‖W_i‖²₂ Σ_i ‖W_i − W_i⁰‖²_F /
  ‖W_i‖²₂ / γ²);
* ``log_spec_orig_main`` (#30): the same with ‖W_i‖²_F in place of ‖W_i − W_i⁰‖²_F;
* ``log_prod_of_fro_over_margin`` (#36): log(∏_i ‖W_i‖²_F / γ²);
* ``path_norm_over_margin`` (#43): path_norm / γ²;
* ``inverse_spectral_margin`` (Bartlett, Foster and Telgarsky 2017, "Spectrally-normalized
  margin bounds for neural networks"): the inverse of their spectrally-normalised margin,
  R_A ‖X‖_F / (γ m), with the spectral complexity
  R_A = (∏_i ρ_i ‖W_i‖₂) (Σ_i ‖(W_i − W_i⁰)ᵀ‖_{2,1}^{2/3} / ‖W_i‖₂^{2/3})^{3/2},
  ρ_i the Lipschitz constant of the nonlinearity after layer i (1 for ReLU, ReLU6, hard tanh
  and tanh, 1/6 for hard sigmoid, 1 for the logit layer), ‖A‖_{2,1} the sum of the L2 norms
  of A's columns (so ‖(W − W⁰)ᵀ‖_{2,1} sums the norms of the rows of W − W⁰, one per output
  unit), reference matrices M_i = W_i⁰ (the initialisation; the paper allows any fixed
  reference), ‖X‖_F = (Σ_x ‖x‖²)^{1/2} over the m training inputs, and γ the 10th
  percentile above **[ours: the paper plots the margin distribution]**.
"""

from __future__ import annotations

import math
from typing import Dict

import numpy as np

from sensitivity_tf.measures import norms
from sensitivity_tf.measures.network import TrainedNetwork

FAMILY = "margin"


def logits(model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
  """The model's outputs (logits for our networks) on ``x``, float64."""
  return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False), np.float64)
                         for i in range(0, len(x), batch_size)])


def margins(f: np.ndarray, y: np.ndarray) -> np.ndarray:
  """f[y] − max_{j≠y} f[j] per row of the logits ``f``."""
  rows = np.arange(len(y))
  correct = f[rows, y]
  other = f.copy()
  other[rows, y] = -np.inf
  return correct - other.max(axis=1)


def margin_percentile(values: np.ndarray, percentile: float) -> float:
  return float(np.percentile(values, percentile, method="lower"))


def spectral_complexity(net: TrainedNetwork) -> float:
  """R_A of Bartlett et al. (module docstring)."""
  product, total = 1.0, 0.0
  for layer, spec2 in zip(net.weight_layers(), norms.layer_norms(net)["spec2"]):
    spec = math.sqrt(spec2)
    product *= layer.lipschitz * spec
    two_one = float(np.linalg.norm(layer.matrix - layer.initial, axis=1).sum())
    total += two_one ** (2 / 3) / spec ** (2 / 3)
  return product * total ** 1.5


def compute(net: TrainedNetwork, settings) -> Dict[str, float]:
  gamma = margin_percentile(margins(logits(net.model, net.x_train), net.y_train),
                            settings.margin_percentile)
  names = ("inverse_margin", "log_prod_of_spec_over_margin", "log_spec_init_main",
           "log_spec_orig_main", "log_prod_of_fro_over_margin", "path_norm_over_margin",
           "inverse_spectral_margin")
  if not gamma > 0:
    return {name: math.nan for name in names}
  n = norms.layer_norms(net)
  log_spec, log_gamma2 = np.log(n["spec2"]).sum(), 2 * math.log(gamma)
  x_norm = float(np.sqrt(np.sum(np.asarray(net.x_train, np.float64) ** 2)))
  return dict(
      inverse_margin=1 / gamma ** 2,
      log_prod_of_spec_over_margin=float(log_spec - log_gamma2),
      log_spec_init_main=float(log_spec - log_gamma2
                               + math.log((n["dist_fro2"] / n["spec2"]).sum())),
      log_spec_orig_main=float(log_spec - log_gamma2 + math.log((n["fro2"] / n["spec2"]).sum())),
      log_prod_of_fro_over_margin=float(np.log(n["fro2"]).sum() - log_gamma2),
      path_norm_over_margin=norms.cached_path_norm(net) / gamma ** 2,
      inverse_spectral_margin=spectral_complexity(net) * x_norm / (gamma * net.num_train))
