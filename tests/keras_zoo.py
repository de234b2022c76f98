"""Small Keras classifiers of every kind the metrics must handle, built in float32 or float64
with the same weights (the float64 twin is the oracle's network). Used only by the tests."""

import contextlib

import keras
import numpy as np
import tensorflow as tf

# Stand-alone activation layers for each nonlinearity the metrics support.
ACTIVATIONS = ("relu", "relu6", "hard_tanh", "hard_sigmoid", "tanh", "leaky_relu")


def activation_layer(name):
  if name == "leaky_relu":
    return keras.layers.LeakyReLU(negative_slope=0.1)
  return keras.layers.Activation(name)


def fused(name):
  """The ``activation=`` argument of a Dense/Conv layer for ``name``."""
  return "leaky_relu" if name == "leaky_relu" else name


@contextlib.contextmanager
def floatx(dtype):
  old = keras.config.floatx()
  keras.config.set_floatx(dtype)
  try:
    yield
  finally:
    keras.config.set_floatx(old)


def cnn(name, classes=5, shape=(8, 8, 2), final="logits", seed=0):
  """Conv (fused) -> max pool -> BatchNorm -> conv -> activation layer -> residual add ->
  Dropout -> flatten -> dense (fused) -> logits (or softmax, see ``final``)."""
  keras.utils.set_random_seed(seed)
  x = keras.Input(shape)
  h = keras.layers.Conv2D(4, 3, padding="same", activation=fused(name))(x)
  h = keras.layers.MaxPooling2D(2)(h)
  h = keras.layers.BatchNormalization()(h)
  r = keras.layers.Conv2D(4, 3, padding="same")(h)
  r = activation_layer(name)(r)
  h = keras.layers.Add()([h, r])
  h = keras.layers.Dropout(0.5)(h)
  h = keras.layers.Flatten()(h)
  h = keras.layers.Dense(6, activation=fused(name))(h)
  if final == "dense_softmax":
    out = keras.layers.Dense(classes, activation="softmax")(h)
  else:
    out = keras.layers.Dense(classes)(h)
    if final == "softmax_layer":
      out = keras.layers.Softmax()(out)
    elif final == "activation_softmax":
      out = keras.layers.Activation("softmax")(out)
    elif final == "ops_softmax":
      out = keras.ops.softmax(out)
  model = keras.Model(x, out, name=f"cnn_{name}")
  _randomize_batch_norm(model, seed)
  return model


def sequential_cnn(name, classes=4, shape=(6, 6, 1), seed=0):
  keras.utils.set_random_seed(seed)
  return keras.Sequential([
      keras.Input(shape), keras.layers.Conv2D(3, 3, activation=fused(name)),
      keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(classes)],
      name=f"sequential_{name}")


class Subclassed(keras.Model):
  """A subclassed CNN: no reachable layer graph."""

  def __init__(self, name="relu", classes=4, softmax=False):
    super().__init__(name="subclassed")
    self.conv = keras.layers.Conv2D(3, 3, activation=fused(name))
    self.pool = keras.layers.MaxPooling2D(2)
    self.flatten = keras.layers.Flatten()
    self.dense = keras.layers.Dense(classes)
    self.softmax = softmax

  def call(self, x, training=False):
    out = self.dense(self.flatten(self.pool(self.conv(x))))
    return keras.ops.softmax(out) if self.softmax else out


def mlp(name, dims=(12, 9, 7, 5), rescale=False, seed=0):
  """A plain Dense stack (fused activations), optionally behind a Rescaling layer."""
  keras.utils.set_random_seed(seed)
  x = keras.Input((dims[0],))
  h = keras.layers.Rescaling(0.5, offset=0.1)(x) if rescale else x
  for width in dims[1:-1]:
    h = keras.layers.Dense(width, activation=fused(name), bias_initializer="random_normal")(h)
  return keras.Model(x, keras.layers.Dense(dims[-1])(h), name=f"mlp_{name}")


def _randomize_batch_norm(model, seed):
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      gamma, beta, mean, var = layer.get_weights()
      layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(size=beta.shape),
                         rng.normal(size=mean.shape), rng.uniform(0.5, 2, var.shape)])


def float64_twin(build, model, *args, **kwargs):
  """The same architecture built in float64 with ``model``'s weights."""
  with floatx("float64"):
    twin = build(*args, **kwargs)
  twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
  return twin


def logit_jacobian64(logits_fn, x):
  """float64 batch_jacobian of the logits, flattened to (B, K, d), and the logits."""
  xt = tf.constant(np.asarray(x, np.float64))
  with tf.GradientTape() as tape:
    tape.watch(xt)
    f = logits_fn(xt)
  g = tape.batch_jacobian(f, xt).numpy()
  return g.reshape(g.shape[0], g.shape[1], -1), f.numpy()


def images(n, shape, seed=0, scale=1.0):
  return (np.random.default_rng(seed).normal(size=(n,) + tuple(shape)) * scale).astype(np.float32)


def unfused_cnn(name, classes=3, shape=(6, 6, 2), seed=0, fuse=True):
  """conv -> act -> max pool 2x2 -> conv -> act -> flatten -> dense -> act -> logits, with
  the activations fused into the layers (``fuse``) or as separate layers (the oracle's view:
  the same weights, every pre-activation a layer output)."""
  keras.utils.set_random_seed(seed)
  x = keras.Input(shape)
  act = fused(name) if fuse else None

  def activation():  # the fused leaky_relu's slope is Keras's default, 0.2
    return keras.layers.LeakyReLU(0.2) if name == "leaky_relu" else activation_layer(name)
  h = keras.layers.Conv2D(3, 3, padding="same", activation=act, name="conv_0",
                          bias_initializer="random_normal")(x)
  if not fuse:
    h = activation()(h)
  h = keras.layers.MaxPooling2D(2, name="pool")(h)
  h = keras.layers.Conv2D(3, 2, activation=act, name="conv_1",
                          bias_initializer="random_normal")(h)
  if not fuse:
    h = activation()(h)
  h = keras.layers.Flatten()(h)
  h = keras.layers.Dense(5, activation=act, name="dense_0", bias_initializer="random_normal")(h)
  if not fuse:
    h = activation()(h)
  return keras.Model(x, keras.layers.Dense(classes, name="logits")(h), name=f"cnn_{name}")
