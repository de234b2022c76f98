"""What the sensitivity metrics need to know about a Keras classifier, ours or anyone's.

Three questions, answered from the model's layer graph (functional and Sequential models)
or, for subclassed models, from the model as a black box:

* **Where are its logits?** (`logits_model`) The metrics need f(x), the input of the
  softmax. A model whose output is already the logits is used as it is. A model whose last
  operation applies softmax (a ``Dense(..., activation="softmax")``, a final ``Softmax`` or
  ``Activation("softmax")`` layer, or ``keras.ops.softmax``) is evaluated up to that
  operation's pre-activation: the softmax is *detected* in the graph, never guessed. A model
  whose logits cannot be reached (several outputs, an output that is not (batch, classes),
  a final sigmoid, or a subclassed model whose output rows are probabilities) is refused
  with one line (`ClassifierError`).
* **Is it a plain Dense stack?** (`fc_stack`) An allow-list: an optional ``Flatten`` right
  after the input, then ``Dense`` layers each followed by exactly one supported
  nonlinearity (fused, or an ``Activation``/``ReLU``/``LeakyReLU`` layer), ``Dropout``
  (inference: identity) anywhere, and a last ``Dense`` giving the logits (linear or
  softmax). Such a model takes the fast analytic route of `sensitivity_tf.metrics.jacobian` and the
  first-layer projection of `sensitivity_tf.metrics.transitions`; anything else (a ``Rescaling``
  or ``Normalization`` layer, a convolution, a residual add) takes the general routes.
* **Where are its codes?** (`code_sites`) Every nonlinearity of the model, as a *site*
  whose pre-activation gives the code of each of its units (`sensitivity_tf.networks.nonlinearities`):
  stand-alone activation layers (their input), activations fused into a ``Dense`` or
  convolution (the pre-activation is recomputed by a linear twin of the layer with the same
  weights), and ``MaxPooling2D`` with non-overlapping windows, whose code is the position of
  the maximum within each window (one categorical code per pooled output). A layer that may
  be nonlinear and whose codes cannot be obtained (a ``Lambda``, a custom layer, a nested
  model, overlapping max pooling, a raw ``keras.ops`` call) is named in a one-line refusal,
  never left out of the count. Subclassed models have no reachable graph and are refused.

The graph is read through Keras 3's ``_keras_history`` / ``_inbound_nodes`` (private but
stable attributes); `_producer` is the one place that touches them.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf.networks import nonlinearities
from sensitivity_tf.networks.nonlinearities import Nonlinearity


class ClassifierError(ValueError):
  """A model the metrics cannot use; the message is one line naming the cause."""


# Layers that are affine (or the identity) in inference mode: they carry no code.
AFFINE_LAYERS = (
    keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D, keras.layers.Conv2D,
    keras.layers.Conv3D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
    keras.layers.Conv2DTranspose, keras.layers.BatchNormalization, keras.layers.Dropout,
    keras.layers.SpatialDropout2D, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
    keras.layers.Flatten, keras.layers.Reshape, keras.layers.Permute, keras.layers.ZeroPadding2D,
    keras.layers.Cropping2D, keras.layers.Add, keras.layers.Subtract, keras.layers.Average,
    keras.layers.Concatenate, keras.layers.AveragePooling2D, keras.layers.GlobalAveragePooling2D,
    keras.layers.AveragePooling1D, keras.layers.GlobalAveragePooling1D, keras.layers.Rescaling,
    keras.layers.Normalization, keras.layers.UpSampling2D, keras.layers.Identity,
    keras.layers.InputLayer)
ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU)


def is_graph_model(model: keras.Model) -> bool:
  """True for functional and Sequential models (their layer graph is reachable)."""
  try:
    return bool(model.outputs)
  except (AttributeError, ValueError):
    return False


def _producer_node(tensor):
  """(operation, index of its call, input tensors of the call) that produced a symbolic
  tensor."""
  history = tensor._keras_history
  node = history.operation._inbound_nodes[history.node_index]
  return history.operation, history.node_index, list(node.input_tensors)


def _producer(tensor):
  """(operation, input tensors of the call) that produced a symbolic tensor."""
  operation, _, inputs = _producer_node(tensor)
  return operation, inputs


def _single_output(model: keras.Model):
  name = model.name
  if is_graph_model(model):
    if len(model.inputs) != 1:
      raise ClassifierError(f"model {name!r} has {len(model.inputs)} inputs; allowed: one")
    if len(model.outputs) != 1:
      raise ClassifierError(f"model {name!r} has {len(model.outputs)} outputs; allowed: one "
                            "classifier output of shape (batch, classes)")
    shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
      raise ClassifierError(f"model {name!r} takes inputs of shape {shape}, whose sizes are "
                            "unknown; allowed: a fixed input shape (build the model on "
                            "keras.Input(<one image's shape>))")
    out = model.outputs[0]
    if len(out.shape) != 2 or not out.shape[1] or out.shape[1] < 2:
      raise ClassifierError(f"model {name!r} has output shape {tuple(out.shape)}; allowed: a "
                            "classifier output of shape (batch, classes) with classes >= 2")
    return out
  return None


def _linear_twin(layer: keras.layers.Layer, inputs):
  """``layer`` with a linear activation and the same weights, applied to ``inputs``: its
  pre-activation (a twin with copied weights; the metrics never train)."""
  config = dict(layer.get_config(), activation="linear", name=layer.name + "_pre_activation")
  twin = layer.__class__.from_config(config)
  out = twin(inputs)
  twin.set_weights(layer.get_weights())
  return out


def _is_softmax(operation) -> bool:
  if isinstance(operation, keras.layers.Softmax):
    return True
  if isinstance(operation, keras.layers.Activation):
    return nonlinearities.keras_name(operation.activation) == "softmax"
  return type(operation).__name__ == "Softmax" and not isinstance(operation, keras.layers.Layer)


@dataclasses.dataclass
class Logits:
  """The logits of a classifier: a model mapping its input to (batch, classes) logits."""

  model: keras.Model
  num_classes: int
  input_shape: Tuple[int, ...]   # one point as the model receives it
  description: str               # where the logits were taken from


def logits_model(model: keras.Model, probe: Optional[np.ndarray] = None) -> Logits:
  """The logits of ``model`` (module docstring); ClassifierError when unreachable.

  ``probe``: a few inputs, used only for subclassed models, whose output is refused when its
  rows are probabilities (non-negative, summing to 1): their softmax cannot be removed.
  """
  out = _single_output(model)
  if out is None:  # subclassed
    if probe is None:
      raise ClassifierError(f"model {model.name!r} is subclassed and was never called; call it "
                            "once or pass inputs")
    y = np.asarray(model(tf.constant(probe, tf.float32), training=False))
    if y.ndim != 2 or y.shape[1] < 2:
      raise ClassifierError(f"model {model.name!r} has output shape {y.shape}; allowed: a "
                            "classifier output of shape (batch, classes) with classes >= 2")
    if np.all(y >= 0) and np.allclose(y.sum(1), 1.0, atol=1e-4):
      raise ClassifierError(f"model {model.name!r} is subclassed and outputs probabilities; its "
                            "softmax cannot be removed: return logits, or use a functional or "
                            "Sequential model")
    return Logits(model, y.shape[1], tuple(probe.shape[1:]), "model output (subclassed)")
  operation, inputs = _producer(out)
  num_classes = int(out.shape[1])
  input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
  where = f"output of {operation.name!r}"
  if _is_softmax(operation):
    logits, where = inputs[0], f"input of the final softmax {operation.name!r}"
  elif isinstance(operation, keras.layers.Activation):
    raise ClassifierError(f"model {model.name!r}: the final layer {operation.name!r} applies "
                          f"{nonlinearities.keras_name(operation.activation)}; its logits cannot "
                          "be reached (allowed final activations: linear, softmax)")
  elif getattr(operation, "activation", None) is not None:
    name = nonlinearities.keras_name(operation.activation)
    if name == "softmax":
      logits = _linear_twin(operation, inputs[0])
      where = f"pre-activation of {operation.name!r} (its softmax removed)"
    elif name == "linear":
      logits = out
    else:
      raise ClassifierError(
          f"model {model.name!r}: the final layer {operation.name!r} applies "
          f"{name or operation.activation}; its logits cannot be reached (allowed final "
          "activations: linear, softmax)")
  else:
    logits = out
  if logits is out:
    return Logits(model, num_classes, input_shape, "model output")
  return Logits(keras.Model(model.inputs[0], logits, name=model.name + "_logits"), num_classes,
                input_shape, where)


# ----------------------------------------------------------------------------- Dense stacks
@dataclasses.dataclass
class FCStack:
  """A plain Dense stack: hidden (kernel, bias, nonlinearity) and the logit layer."""

  hidden: List[Tuple[np.ndarray, np.ndarray, Nonlinearity]]
  logits: Tuple[np.ndarray, np.ndarray]
  input_shape: Tuple[int, ...]
  layer_names: List[str]

  @property
  def input_dim(self) -> int:
    return int(np.prod(self.input_shape))

  @property
  def num_classes(self) -> int:
    return int(self.logits[0].shape[1])

  @property
  def depth(self) -> int:
    return len(self.hidden)

  @property
  def nonlinearity_names(self) -> List[str]:
    return [nl.name for _, _, nl in self.hidden]


def _dense_weights(layer) -> Tuple[np.ndarray, np.ndarray]:
  """Kernel and bias; 16-bit weights (a float16 model) as float32 [ours: such a stack is
  evaluated in float32 on its own weights, which float32 holds exactly]."""
  kernel = np.asarray(layer.kernel)
  bias = np.asarray(layer.bias) if layer.use_bias else np.zeros(kernel.shape[1], kernel.dtype)
  if kernel.dtype.itemsize < 4:
    kernel, bias = kernel.astype(np.float32), bias.astype(np.float32)
  return kernel, bias


def fc_stack(model: keras.Model) -> Optional[FCStack]:
  """The model as a plain Dense stack (module docstring), or None when it is not one."""
  if not is_graph_model(model) or len(model.inputs) != 1 or len(model.outputs) != 1:
    return None
  chain = []  # operations from the output down to the input
  tensor = model.outputs[0]
  while True:
    operation, inputs = _producer(tensor)
    if isinstance(operation, keras.layers.InputLayer):
      break
    if len(inputs) != 1:
      return None
    chain.append(operation)
    tensor = inputs[0]
  chain.reverse()
  if chain and isinstance(chain[0], keras.layers.Flatten):
    chain = chain[1:]
  elif len(model.inputs[0].shape) != 2:
    return None
  chain = [op for op in chain if not isinstance(op, keras.layers.Dropout)]
  if _is_softmax(chain[-1]) if chain else False:
    chain = chain[:-1]
  hidden, logits, names, i = [], None, [], 0
  while i < len(chain):
    op = chain[i]
    if type(op) is not keras.layers.Dense:
      return None
    try:
      fused = nonlinearities.from_keras_activation(op.activation)
    except ValueError:
      return None
    names.append(op.name)
    if i == len(chain) - 1:  # the logit layer
      if fused is not None and fused.name != "softmax":
        return None
      logits = _dense_weights(op)
      break
    nl, i = fused, i + 1
    if nl is None and isinstance(chain[i], ACTIVATION_LAYERS):
      try:
        nl = nonlinearities.from_layer(chain[i])
      except ValueError:
        return None
      i += 1
    if nl is None or nl.derivative is None:
      return None
    hidden.append((*_dense_weights(op), nl))
  if logits is None:
    return None
  return FCStack(hidden, logits, tuple(int(d) for d in model.inputs[0].shape[1:]), names)


# ----------------------------------------------------------------------------- code sites
@dataclasses.dataclass
class CodeSite:
  """Where the codes of one nonlinearity come from: ``kind`` "activation" (codes of
  ``nonlinearity`` on the site tensor) or "max_pool" (argmax within each window)."""

  layer_name: str
  kind: str
  nonlinearity: Optional[Nonlinearity]
  pool_size: Tuple[int, int] = (1, 1)

  @property
  def piecewise_linear(self) -> bool:
    return self.kind == "max_pool" or self.nonlinearity.piecewise_linear


def _refuse(model, op, why):
  kind = type(op).__name__
  raise ClassifierError(f"model {model.name!r}: cannot obtain the codes of layer {op.name!r} "
                        f"({kind}): {why}")


def code_sites(model: keras.Model) -> Tuple[List[CodeSite], keras.Model]:
  """Every code site of ``model`` and a model mapping its input to the site tensors
  (pre-activations; max pooling's input), in graph order. ClassifierError names a layer
  whose codes cannot be obtained."""
  if not is_graph_model(model):
    raise ClassifierError(f"model {model.name!r} is subclassed: transitions need its layer "
                          "graph (use a functional or Sequential model)")
  out = _single_output(model)
  final, _ = _producer(out)
  sites, tensors = [], []
  for op, node_inputs, calls in _operations(model):
    is_final = op is final
    if isinstance(op, keras.Model):
      _refuse(model, op, "a nested model (call its layers directly in one functional model)")
    if not isinstance(op, keras.layers.Layer):
      if is_final and _is_softmax(op):
        continue
      _refuse(model, op, "a raw keras.ops operation (use the equivalent layer)")
    if calls != 1:  # shared weights: one layer, several code sites
      _refuse(model, op, f"the layer is called {calls} times in the model")
    if isinstance(op, keras.layers.Softmax) or (
        isinstance(op, keras.layers.Activation) and _is_softmax(op)):
      if is_final:
        continue
      _refuse(model, op, "a softmax inside the network")
    if isinstance(op, ACTIVATION_LAYERS):
      try:
        nl = nonlinearities.from_layer(op)
      except ValueError as e:
        _refuse(model, op, str(e))
      if nl is not None:
        sites.append(CodeSite(op.name, "activation", nl))
        tensors.append(node_inputs[0])
      continue
    if isinstance(op, keras.layers.MaxPooling2D):
      pool, strides = tuple(op.pool_size), tuple(op.strides)
      shape = node_inputs[0].shape
      fits = all(shape[1 + a] % pool[a] == 0 for a in range(2))
      if pool != strides or op.data_format != "channels_last" or (
          op.padding == "same" and not fits):
        _refuse(model, op, "max pooling codes need non-overlapping windows (strides = "
                "pool_size), channels_last, and no padding")
      sites.append(CodeSite(op.name, "max_pool", None, pool))
      tensors.append(node_inputs[0])
      continue
    if isinstance(op, AFFINE_LAYERS):
      fn = getattr(op, "activation", None)
      if fn is None:
        continue
      try:
        nl = nonlinearities.from_keras_activation(fn)
      except ValueError as e:
        _refuse(model, op, str(e))
      if nl is None or (is_final and nl.name == "softmax"):
        continue
      if nl.name == "softmax":
        _refuse(model, op, "a softmax inside the network")
      sites.append(CodeSite(op.name, "activation", nl))
      tensors.append(_linear_twin(op, node_inputs[0]))
      continue
    if isinstance(op, keras.layers.RNN) or isinstance(getattr(op, "layer", None),
                                                      keras.layers.RNN):
      _refuse(model, op, "a recurrent layer, whose gate and cell activations run inside it "
              "(their codes are not reachable; its Jacobian norm is: api.jacobian_norms)")
    _refuse(model, op, "not a known affine, activation or pooling layer (allowed: "
            "Dense, convolutions, BatchNormalization, Dropout, pooling, Flatten, Reshape, Add, "
            "Concatenate, Rescaling, Normalization, Activation, ReLU, LeakyReLU)")
  if not sites:
    raise ClassifierError(f"model {model.name!r} has no nonlinearity: no codes, no transitions")
  return sites, keras.Model(model.inputs[0], tensors, name=model.name + "_code_sites")


def _operations(model) -> List[Tuple[object, list, int]]:
  """(operation, its call's input tensors, how many times the model's graph calls it) for
  every operation between the model's input and output, inputs first.

  The calls are counted in this model's graph only: a layer's ``_inbound_nodes`` also holds
  calls from graphs that are not this model's (``Sequential.from_config`` adds its layers
  one by one and rebuilds its graph after each, so a loaded Sequential's first layer of n
  has n - 1 calls, all but one abandoned)."""
  order, nodes, stack = [], {}, [model.outputs[0]]
  while stack:
    tensor = stack.pop()
    op, node_index, inputs = _producer_node(tensor)
    if id(op) in nodes:
      nodes[id(op)].add(node_index)
      continue
    nodes[id(op)] = {node_index}
    order.append((op, inputs))
    stack.extend(inputs)
  order = [(op, inputs, len(nodes[id(op)])) for op, inputs in reversed(order)]
  # Depth-first from the output reversed is not a topological order for branching graphs;
  # graph order is only used for naming, so sort by the model's own operation order.
  position = {id(op): i for i, op in enumerate(model.operations)} if hasattr(
      model, "operations") else {}
  order.sort(key=lambda item: position.get(id(item[0]), 0))
  return order


def site_codes(sites: Sequence[CodeSite], tensors) -> tf.Tensor:
  """(n, N) int8 codes of all sites concatenated, from the site tensors of n points."""
  if not isinstance(tensors, (list, tuple)):
    tensors = [tensors]
  out = []
  for site, z in zip(sites, tensors):
    n = tf.shape(z)[0]
    if site.kind == "max_pool":
      out.append(tf.reshape(_window_argmax(z, site.pool_size), (n, -1)))
    else:
      out.append(tf.reshape(site.nonlinearity.code(z), (n, -1)))
  return tf.concat(out, axis=1)


def _window_argmax(z, pool):
  """Position (0 .. ph·pw − 1) of the maximum within each non-overlapping window, int8
  (NHWC; the first maximum on ties, as tf.nn.max_pool)."""
  ph, pw = pool
  h, w = z.shape[1] // ph * ph, z.shape[2] // pw * pw
  z = z[:, :h, :w, :]
  c = tf.shape(z)[3]
  windows = tf.reshape(z, (tf.shape(z)[0], h // ph, ph, w // pw, pw, c))
  windows = tf.transpose(windows, (0, 1, 3, 5, 2, 4))
  windows = tf.reshape(windows, (tf.shape(z)[0], h // ph, w // pw, c, ph * pw))
  return tf.cast(tf.argmax(windows, axis=-1), tf.int8)
