"""What ‖J‖ is per: the units of the input the Jacobian is taken with respect to.

Inputs are pixels scaled to [0, 1] (docs/method.md §3), optionally standardized per feature,
x_std = (x_pixel − shift) / scale with the training mean and std (`data.transforms`). ‖J‖ is
then per *model-input unit*:

* without standardization, per raw pixel in [0, 1] (the model input is the pixel);
* with it, per standardized unit: one training std of that pixel.

``jacobian_wrt="raw_pixels"`` (an evaluation setting) reports ‖J‖ per raw pixel in [0, 1]
whatever the model's input: by the chain rule J_raw = J_model · diag(1/scale), every column
divided by its feature's scale. A pixel with zero training variance is standardized with
scale 1 (`data.transforms.standardization`), so its column is unchanged; a near-constant
pixel with a tiny but nonzero std multiplies its column by 1/std, which is how per-pixel
standardization can raise ‖J‖ per raw pixel by orders of magnitude (issue 20's probe: about
×360 on MNIST).

How: `on_raw_pixels` builds g(u) = model(u / scale), whose Jacobian at u = x · scale is
J_model(x) · diag(1/scale); for a plain Dense stack the division is folded into the first
layer's kernel (so the fast FC route of `jacobian` still applies), any other model gets it
as a first operation (the GradientTape route). `RawPixelNorms` evaluates it at x · scale.
"""

from __future__ import annotations

import keras
import numpy as np

from sensitivity_tf.metrics import jacobian
from sensitivity_tf.networks import classifier

WRT = ("model_input", "raw_pixels")

RAW = "per raw pixel in [0, 1]"
STANDARDIZED = "per standardized unit (one training std of the pixel)"


def unit(standardized: bool, wrt: str = "model_input") -> str:
  """What ‖J‖ is per, for a network trained on (un)standardized inputs and ‖J‖ taken with
  respect to ``wrt``."""
  return STANDARDIZED if standardized and wrt == "model_input" else RAW


def unit_of(training: dict, evaluation: dict) -> str:
  """`unit` from a network's training fields (``standardize``) and evaluation settings
  (``jacobian_wrt``), as configs and survey studies hold them (missing fields: defaults)."""
  return unit(bool((training or {}).get("standardize", False)),
              (evaluation or {}).get("jacobian_wrt", "model_input"))


def label(standardized: bool, wrt: str = "model_input") -> str:
  """'‖J‖ (per raw pixel in [0, 1])': an axis label or column description."""
  return label_of(unit(standardized, wrt))


def label_of(unit_text: str) -> str:
  """'‖J‖ (<unit_text>)', for a unit already known (`unit`)."""
  return f"‖J‖ ({unit_text})"


def on_raw_pixels(model: keras.Model, scale: np.ndarray) -> keras.Model:
  """g(u) = model(u / scale): a model of raw pixels (up to the shift, which no Jacobian
  sees) whose Jacobian at u = x · scale is J_model(x) divided column-wise by ``scale``."""
  scale = np.asarray(scale, np.float32).reshape(-1)
  twin = keras.models.clone_model(model)
  twin.set_weights(model.get_weights())
  stack = classifier.fc_stack(twin)
  if stack is not None:
    first = twin.get_layer(stack.layer_names[0])
    kernel, *rest = first.get_weights()
    first.set_weights([kernel / scale[:, None], *rest])
    return twin
  shape = tuple(model.inputs[0].shape[1:])
  inputs = keras.Input(shape)
  return keras.Model(inputs, twin(inputs / scale.reshape(shape)))


class RawPixelNorms:
  """A `jacobian.JacobianNorm` of the model per raw pixel: called with model inputs x, it
  evaluates `on_raw_pixels` at x · scale (same ``norms``/``logits_of`` interface)."""

  def __init__(self, model: keras.Model, scale: np.ndarray, **options):
    self.scale = np.asarray(scale, np.float32).reshape(1, -1)
    self.inner = jacobian.JacobianNorm(on_raw_pixels(model, self.scale), **options)
    self.route = self.inner.route

  def __call__(self, x: np.ndarray) -> jacobian.JacobianNorms:
    return self.inner(np.asarray(x, np.float32) * self.scale)

  def logits_of(self, x: np.ndarray) -> np.ndarray:
    return self.inner.logits_of(np.asarray(x, np.float32) * self.scale)


def norms_for(model: keras.Model, scale: np.ndarray, wrt: str, **options):
  """The Jacobian-norm evaluator of ``model`` with respect to ``wrt`` (`WRT`): the model's own
  input, or raw pixels (the same thing when ``scale`` is all ones)."""
  if wrt not in WRT:
    raise ValueError(f"jacobian_wrt={wrt!r} is invalid; allowed: {', '.join(WRT)}")
  if wrt == "model_input" or np.all(np.asarray(scale) == 1):
    return jacobian.JacobianNorm(model, **options)
  return RawPixelNorms(model, scale, **options)
