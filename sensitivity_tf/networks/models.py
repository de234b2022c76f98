"""The networks: fully-connected (the paper's), a small convolutional family, and their
pre-activations.

A network with ``depth`` hidden layers of ``width`` units maps a flat input of
``input_dim`` features to ``num_classes`` **logits** (no softmax layer; the sensitivity
metrics apply the softmax themselves in float64). Layer names are fixed so that every
other module can find them: ``hidden_{i}`` (the affine map of hidden layer i, whose output
is the pre-activation z_i), ``act_{i}`` (the nonlinearity) and ``logits``.

Initialization: each weight ~ N(0, sigma_w^2 / fan_in) (``weight_scale`` = sigma_w^2),
each bias ~ N(0, sigma_b^2) (``bias_scale`` = sigma_b; 0 gives zero biases). The logit
layer uses the same scales. Every layer draws from its own seed derived from ``seed``.

The nonlinearities are Keras built-ins (``Activation("relu")`` ...), so a saved model loads
with plain ``keras.saving.load_model`` without importing this package.
"""

from __future__ import annotations

from typing import List

import keras
import numpy as np

from sensitivity_tf.networks import nonlinearities


def _kernel_init(weight_scale, seed):
  return keras.initializers.VarianceScaling(
      scale=weight_scale, mode="fan_in", distribution="untruncated_normal", seed=seed)


def _bias_init(bias_scale, seed):
  if bias_scale == 0:
    return keras.initializers.Zeros()
  return keras.initializers.RandomNormal(stddev=bias_scale, seed=seed)


def build_fc_network(input_dim: int, num_classes: int, depth: int, width: int,
                     nonlinearity: str = "relu", weight_scale: float = 2.0,
                     bias_scale: float = 0.0, seed: int = 0) -> keras.Model:
  """Builds the FC network ``input_dim -> width x depth -> num_classes`` (logits)."""
  if depth < 0:
    raise ValueError(f"depth={depth} is invalid; allowed: an integer >= 0")
  if depth > 0 and width < 1:
    raise ValueError(f"width={width} is invalid; allowed: an integer >= 1")
  act = nonlinearities.get(nonlinearity)
  inputs = keras.Input(shape=(input_dim,), name="x")
  h = inputs
  for i in range(depth):
    h = keras.layers.Dense(
        width, name=f"hidden_{i}",
        kernel_initializer=_kernel_init(weight_scale, seed * 1000 + 2 * i),
        bias_initializer=_bias_init(bias_scale, seed * 1000 + 2 * i + 1))(h)
    h = keras.layers.Activation(act.fn, name=f"act_{i}")(h)
  logits = keras.layers.Dense(
      num_classes, name="logits",
      kernel_initializer=_kernel_init(weight_scale, seed * 1000 + 2 * depth),
      bias_initializer=_bias_init(bias_scale, seed * 1000 + 2 * depth + 1))(h)
  return keras.Model(inputs, logits, name=f"fc_{depth}x{width}_{nonlinearity}")


ARCHITECTURES = ("fc", "cnn")


def build_cnn(image_shape, num_classes: int, depth: int, width: int,
              nonlinearity: str = "relu", weight_scale: float = 2.0, bias_scale: float = 0.0,
              seed: int = 0) -> keras.Model:
  """A small CNN [beyond the paper, which studies FC networks only]: ``depth`` conv blocks,
  each a 3x3 ``same`` convolution of ``width`` channels with the nonlinearity fused in
  (``conv_{i}``) and a 2x2 max pooling (``pool_{i}``, while the feature map is at least 2x2),
  then a dense head of ``width`` units (``head``) and the logit layer (``logits``).

  It takes the flat inputs of `sensitivity_tf.data` (a ``Reshape`` to ``image_shape`` comes
  first), so training, augmentation and the metrics treat it like an FC network; ‖J‖ is
  with respect to the same flat pixels. Initialization as for `build_fc_network` (fan-in
  of a conv kernel: 9 x input channels).
  """
  if depth < 0:
    raise ValueError(f"depth={depth} is invalid; allowed: an integer >= 0")
  if width < 1:
    raise ValueError(f"width={width} is invalid; allowed: an integer >= 1")
  act = nonlinearities.get(nonlinearity)
  image_shape = tuple(int(d) for d in image_shape)
  inputs = keras.Input(shape=(int(np.prod(image_shape)),), name="x")
  h = keras.layers.Reshape(image_shape, name="image")(inputs)
  size = list(image_shape[:2])
  for i in range(depth):
    h = keras.layers.Conv2D(
        width, 3, padding="same", activation=act.fn, name=f"conv_{i}",
        kernel_initializer=_kernel_init(weight_scale, seed * 1000 + 2 * i),
        bias_initializer=_bias_init(bias_scale, seed * 1000 + 2 * i + 1))(h)
    if min(size) >= 2:
      h = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(h)
      size = [s // 2 for s in size]
  h = keras.layers.Flatten(name="flatten")(h)
  h = keras.layers.Dense(
      width, activation=act.fn, name="head",
      kernel_initializer=_kernel_init(weight_scale, seed * 1000 + 2 * depth),
      bias_initializer=_bias_init(bias_scale, seed * 1000 + 2 * depth + 1))(h)
  logits = keras.layers.Dense(
      num_classes, name="logits",
      kernel_initializer=_kernel_init(weight_scale, seed * 1000 + 2 * depth + 2),
      bias_initializer=_bias_init(bias_scale, seed * 1000 + 2 * depth + 3))(h)
  return keras.Model(inputs, logits, name=f"cnn_{depth}x{width}_{nonlinearity}")


def build(architecture: str, image_shape, num_classes: int, depth: int, width: int,
          nonlinearity: str = "relu", weight_scale: float = 2.0, bias_scale: float = 0.0,
          seed: int = 0) -> keras.Model:
  """`build_fc_network` (``"fc"``) or `build_cnn` (``"cnn"``) for flat inputs of images of
  ``image_shape``."""
  if architecture == "fc":
    return build_fc_network(int(np.prod(image_shape)), num_classes, depth, width, nonlinearity,
                            weight_scale, bias_scale, seed)
  if architecture == "cnn":
    return build_cnn(image_shape, num_classes, depth, width, nonlinearity, weight_scale,
                     bias_scale, seed)
  raise ValueError(f"unknown architecture {architecture!r}; allowed: {', '.join(ARCHITECTURES)}")


def hidden_layers(model: keras.Model) -> List[keras.layers.Dense]:
  """The affine hidden layers ``hidden_0 ... hidden_{depth-1}``, in order."""
  layers = [l for l in model.layers if l.name.startswith("hidden_")]
  return sorted(layers, key=lambda l: int(l.name.split("_")[1]))


def depth(model: keras.Model) -> int:
  return len(hidden_layers(model))


def nonlinearity_of(model: keras.Model) -> nonlinearities.Nonlinearity:
  """The registered nonlinearity the hidden layers use (``relu`` for depth 0)."""
  acts = [l for l in model.layers if l.name.startswith("act_")]
  if not acts:
    return nonlinearities.get("relu")
  fn = acts[0].activation
  name = nonlinearities.keras_name(fn)
  if name not in nonlinearities.NONLINEARITIES:
    raise ValueError(f"model {model.name!r} uses an unregistered nonlinearity {fn!r}")
  return nonlinearities.NONLINEARITIES[name]


def pre_activation_model(model: keras.Model) -> keras.Model:
  """A sibling model returning ``[z_0, ..., z_{depth-1}, logits]`` in one forward pass.

  It shares the layers (and so the weights) of ``model``; building it changes nothing in
  ``model``.
  """
  outputs = [layer.output for layer in hidden_layers(model)]
  outputs.append(model.get_layer("logits").output)
  return keras.Model(model.input, outputs, name=model.name + "_pre_activations")


def count_weights(input_dim: int, num_classes: int, depth: int, width: int) -> int:
  """Number of trainable parameters (weights and biases) by the closed form."""
  if depth == 0:
    return (input_dim + 1) * num_classes
  return ((input_dim + 1) * width + (depth - 1) * (width + 1) * width
          + (width + 1) * num_classes)


def num_weights(model: keras.Model) -> int:
  """Number of trainable parameters actually in ``model``."""
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))
