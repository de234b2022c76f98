"""The two routes of ‖∂softmax(f(x))/∂x‖_F against each other and against JAX, in one process.

1. **GradientTape route vs JAX** on a small CNN (32x32x3 -> 3x3 conv, 32 channels, ReLU ->
   2x2 max pool -> 3x3 conv, 32 channels, ReLU -> 2x2 max pool -> dense 128, ReLU -> 10
   logits; Keras initialization, seed 0), the same weights loaded into both:
   * ours: `sensitivity_tf.metrics.jacobian.JacobianNorm` (automatic route: ``gradient_tape``);
   * JAX: ``jit(vmap(‖jacrev(softmax∘f)(x)‖))`` with ``lax.conv_general_dilated`` and
     ``lax.reduce_window``, float32.
2. **FC route vs GradientTape route** on the 784 -> 512 x 4 -> 10 ReLU MLP of
   `sensitivity_tf.networks.models` (the fast path must stay the faster one).

Inputs are uniform in [0, 1]. For each method: points per second (median over interleaved
repeats, after a warm-up call that compiles) and the largest relative deviation from a
float64 oracle (a float64 twin of the network, ``batch_jacobian`` of its logits and the
cancellation-free contraction of docs/method.md) on the first 32 points. JAX is skipped with a
message when it is not installed (``pip install -r benchmarks/requirements.txt``).

Usage: python benchmarks/jacobian_routes.py [--repeats=5] [--cnn_points=512]
       [--mlp_points=2048]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# The test suite's float64 oracle and twin builder.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from sensitivity_tf.commands import cli  # noqa: E402,F401  (quiet TensorFlow start-up)
import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from sensitivity_tf.metrics import jacobian  # noqa: E402
from sensitivity_tf.networks import models
import keras_zoo  # noqa: E402
import oracles  # noqa: E402

flags.DEFINE_integer("repeats", 5, "Interleaved repetitions.")
flags.DEFINE_integer("cnn_points", 512, "Points per timed call on the CNN.")
flags.DEFINE_integer("mlp_points", 2048, "Points per timed call on the MLP.")
FLAGS = flags.FLAGS
ORACLE_POINTS = 32


def small_cnn():
  keras.utils.set_random_seed(0)
  x = keras.Input((32, 32, 3))
  h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
  h = keras.layers.MaxPooling2D(2)(h)
  h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
  h = keras.layers.MaxPooling2D(2)(h)
  h = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(h))
  return keras.Model(x, keras.layers.Dense(10)(h), name="small_cnn")


def mlp():
  return models.build_fc_network(784, 10, 4, 512, "relu", seed=0)


def oracle_norms(build, model, x):
  twin = keras_zoo.float64_twin(build, model)
  g, f = keras_zoo.logit_jacobian64(lambda t: twin(t, training=False), x)
  return oracles.spec_contraction_norms(g, f)


def jax_cnn_norms(model):
  """jit(vmap) of ‖jacrev(softmax∘f)(x)‖_F with the Keras model's weights, or None."""
  try:
    import jax
    import jax.numpy as jnp
  except ImportError:
    return None
  w = [jnp.asarray(v) for v in model.get_weights()]

  def pool(h):
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (2, 2, 1), (2, 2, 1), "VALID")

  def conv(h, kernel, bias):
    out = jax.lax.conv_general_dilated(h[None], kernel, (1, 1), "SAME",
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
    return jax.nn.relu(out + bias)

  def probs(xi):
    h = pool(conv(xi, w[0], w[1]))
    h = pool(conv(h, w[2], w[3]))
    h = jax.nn.relu(h.reshape(-1) @ w[4] + w[5])
    return jax.nn.softmax(h @ w[6] + w[7])

  fn = jax.jit(jax.vmap(lambda xi: jnp.sqrt(jnp.sum(jax.jacrev(probs)(xi) ** 2))))
  return lambda x: np.asarray(fn(jnp.asarray(x)))


def measure(methods, x, repeats):
  """{name: (points/s median, outputs of the last call)}; one warm-up call each."""
  times = {name: [] for name in methods}
  outputs = {name: fn(x) for name, fn in methods.items()}  # warm-up: compile
  for _ in range(repeats):
    for name, fn in methods.items():
      start = time.perf_counter()
      outputs[name] = fn(x)
      times[name].append(time.perf_counter() - start)
  return {name: (len(x) / np.median(t), outputs[name]) for name, t in times.items()}


def report(title, results, expected):
  print(title)
  for name, (rate, out) in results.items():
    dev = np.max(np.abs(np.asarray(out)[:ORACLE_POINTS] / expected - 1))
    print(f"  {name:<28} {rate:12.1f} points/s   max relative deviation from float64 "
          f"{dev:.2e}")


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  cnn = small_cnn()
  x = rng.uniform(size=(FLAGS.cnn_points, 32, 32, 3)).astype(np.float32)
  expected = oracle_norms(small_cnn, cnn, x[:ORACLE_POINTS])
  ours = jacobian.JacobianNorm(cnn)
  methods = {f"ours ({ours.route})": lambda v: ours(v).norms}
  jax_fn = jax_cnn_norms(cnn)
  if jax_fn is None:
    print("JAX not installed: pip install -r benchmarks/requirements.txt")
  else:
    methods["JAX jit(vmap(jacrev))"] = jax_fn
  results = measure(methods, x, FLAGS.repeats)
  report(f"small CNN 32x32x3 -> conv32 -> pool -> conv32 -> pool -> 128 -> 10, "
         f"{FLAGS.cnn_points} points", results, expected)
  if jax_fn is not None:
    names = list(results)
    print(f"  ours / JAX: {results[names[0]][0] / results[names[1]][0]:.2f}x")

  net = mlp()
  x = rng.uniform(size=(FLAGS.mlp_points, 784)).astype(np.float32)
  expected = oracle_norms(mlp, net, x[:ORACLE_POINTS])
  fc = jacobian.JacobianNorm(net)
  tape = jacobian.JacobianNorm(net, route="gradient_tape")
  results = measure({f"FC route ({fc.route})": lambda v: fc(v).norms,
                     "GradientTape route": lambda v: tape(v).norms}, x, FLAGS.repeats)
  report(f"MLP 784 -> 512 x 4 -> 10 ReLU, {FLAGS.mlp_points} points", results, expected)
  names = list(results)
  print(f"  FC / GradientTape: {results[names[0]][0] / results[names[1]][0]:.2f}x")


if __name__ == "__main__":
  app.run(main)
