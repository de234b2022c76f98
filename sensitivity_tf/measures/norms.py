"""Norm-based measures (Jiang et al. 2020, "Fantastic generalization measures and where to
find them", Appendix C.3 and C.4; the numbers (#) are theirs), of the weight matrices W_i,
i = 1 … d, of `network.TrainedNetwork.weight_layers` (biases excluded, as there) and their
initial values W_i⁰, in float64:

* ``num_weights`` (#20): ω, the number of trainable parameters (kernels and biases);
* ``param_norm`` (#42): Σ_i ‖W_i‖²_F;
* ``frobenius_distance`` (#40): Σ_i ‖W_i − W_i⁰‖²_F;
* ``spectral_distance`` (#41): Σ_i ‖W_i − W_i⁰‖²₂;
* ``log_prod_of_fro`` (#37): Σ_i log ‖W_i‖²_F;
* ``log_sum_of_fro`` (#39): log(d · (∏_i ‖W_i‖²_F)^{1/d}) = log d + (1/d) Σ_i log ‖W_i‖²_F;
* ``log_prod_of_spec`` (#32): Σ_i log ‖W_i‖²₂;
* ``log_sum_of_spec`` (#35): log d + (1/d) Σ_i log ‖W_i‖²₂;
* ``fro_over_spec`` (#33): Σ_i ‖W_i‖²_F / ‖W_i‖²₂;
* ``path_norm`` (#44, Neyshabur et al. 2015): Σ_k f_{w²}(1)[k], the output summed over
  classes of the network whose every weight and bias is squared, on the all-ones input,
  with every nonlinearity replaced by the identity **[ours, for the nonlinearities other
  than ReLU]**: for a ReLU network every pre-activation of the squared network on 1 is ≥ 0,
  so this is Jiang et al.'s f_{w²}(1); the identity keeps it the sum over input-output paths
  of the products of squared weights for ReLU6, hard tanh and hard sigmoid too. Max pooling
  is kept (as in the squared network of Jiang et al.); for an FC network without biases,
  path_norm = 1ᵀ (W_1∘W_1)ᵀ ⋯ (W_d∘W_d)ᵀ 1.

Logarithms are natural. Jiang et al. also divide some measures by the training-set size m
and take square roots ("adjusted for the dataset size"); those are monotone maps when m is
fixed, as it is within each of our surveys, so they change no ranking and are left out.
"""

from __future__ import annotations

import math
from typing import Dict, List

import keras
import numpy as np
import tensorflow as tf
from scipy import linalg

from sensitivity_tf.measures.network import TrainedNetwork

FAMILY = "norm"


def spectral_norm(matrix: np.ndarray) -> float:
  """‖A‖₂, the largest singular value: √ of the largest eigenvalue of the smaller Gram
  matrix (LAPACK's symmetric eigensolver for that one eigenvalue, float64; a full SVD of a
  512 × 784 layer costs far more for the same number)."""
  if not matrix.size:
    return 0.0
  gram = matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else matrix.T @ matrix
  top = linalg.eigh(gram, eigvals_only=True, subset_by_index=[len(gram) - 1, len(gram) - 1])
  return float(np.sqrt(max(top[0], 0.0)))


def layer_norms(net: TrainedNetwork) -> Dict[str, np.ndarray]:
  """Per layer: squared Frobenius and spectral norms of W_i and of W_i − W_i⁰ (computed
  once per network and kept in ``net.cache``: the margin family reads them too)."""
  if "layer_norms" not in net.cache:
    layers = net.weight_layers()
    net.cache["layer_norms"] = dict(
        fro2=np.array([np.sum(l.matrix ** 2) for l in layers]),
        spec2=np.array([spectral_norm(l.matrix) ** 2 for l in layers]),
        dist_fro2=np.array([np.sum((l.matrix - l.initial) ** 2) for l in layers]),
        dist_spec2=np.array([spectral_norm(l.matrix - l.initial) ** 2 for l in layers]))
  return net.cache["layer_norms"]


def path_norm(model: keras.Model) -> float:
  """``path_norm`` of the module docstring, for models made of Input, Reshape, Flatten,
  Dense, Conv2D, MaxPooling2D, Activation and Dropout layers in a chain; ValueError naming
  any other layer."""
  h = None
  for layer in model.layers:
    if isinstance(layer, keras.layers.InputLayer):
      continue
    if h is None:
      h = tf.ones((1,) + tuple(int(d) for d in model.inputs[0].shape[1:]), tf.float64)
    if isinstance(layer, keras.layers.Dense):
      h = tf.matmul(h, tf.square(tf.cast(layer.kernel, tf.float64)))
    elif isinstance(layer, keras.layers.Conv2D):
      h = tf.nn.conv2d(h, tf.square(tf.cast(layer.kernel, tf.float64)),
                       strides=layer.strides, padding=layer.padding.upper(),
                       dilations=layer.dilation_rate)
    elif isinstance(layer, (keras.layers.Reshape, keras.layers.Flatten,
                            keras.layers.MaxPooling2D)):
      h = _shape_op(layer, h)
      continue
    elif isinstance(layer, (keras.layers.Activation, keras.layers.Dropout)):
      continue
    else:
      raise ValueError(f"path norm: layer {layer.name!r} ({type(layer).__name__}) is not "
                       "supported; allowed: Dense, Conv2D, MaxPooling2D, Reshape, Flatten, "
                       "Activation, Dropout")
    if getattr(layer, "use_bias", False):
      h = h + tf.square(tf.cast(layer.bias, tf.float64))
  return float(tf.reduce_sum(h))


def cached_path_norm(net: TrainedNetwork) -> float:
  if "path_norm" not in net.cache:
    net.cache["path_norm"] = path_norm(net.model)
  return net.cache["path_norm"]


def _shape_op(layer, h):
  if isinstance(layer, keras.layers.Reshape):
    return tf.reshape(h, (-1,) + tuple(layer.target_shape))
  if isinstance(layer, keras.layers.Flatten):
    return tf.reshape(h, (tf.shape(h)[0], -1))
  return tf.nn.max_pool2d(h, layer.pool_size, layer.strides, layer.padding.upper())


def compute(net: TrainedNetwork, settings=None) -> Dict[str, float]:
  n = layer_norms(net)
  d = len(n["fro2"])
  log_fro, log_spec = np.log(n["fro2"]).sum(), np.log(n["spec2"]).sum()
  return dict(
      num_weights=float(sum(int(np.prod(v.shape)) for v in net.model.trainable_variables)),
      param_norm=float(n["fro2"].sum()),
      frobenius_distance=float(n["dist_fro2"].sum()),
      spectral_distance=float(n["dist_spec2"].sum()),
      log_prod_of_fro=float(log_fro),
      log_sum_of_fro=float(math.log(d) + log_fro / d),
      log_prod_of_spec=float(log_spec),
      log_sum_of_spec=float(math.log(d) + log_spec / d),
      fro_over_spec=float((n["fro2"] / n["spec2"]).sum()),
      path_norm=cached_path_norm(net))
