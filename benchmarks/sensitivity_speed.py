"""Speed of the two sensitivity metrics against the direct routes, in one process.

Jacobian norm ‖∂softmax(f(x))/∂x‖_F per point, exact, on two shapes (random init, seed 0):
MNIST-shaped 784 -> 512 x 4 -> 10 ReLU on 1024 points, CIFAR-shaped 3072 -> 512 x 4 -> 100
on 256 points. Methods:

* ours: `sensitivity_tf.metrics.jacobian.JacobianNorm` (default settings);
* TF ``batch_jacobian`` of the softmax output (float32), then the norm;
* TF one gradient per class: K ``tape.gradient`` calls of Σ_b p_k(x_b), in one tf.function;
* JAX ``vmap(jacrev)`` of softmax∘network on the same weights, jitted (skipped with a
  message when JAX is not installed: ``pip install -r benchmarks/requirements.txt``).

Each is reported in points/s, as a multiple of one forward+backward pass on the same batch
(a gradient of the summed logits with respect to the input), and as achieved GFLOP/s of its
own algorithm, beside a large float32 matmul's GFLOP/s measured in the same run. Accuracy:
the largest relative deviation from a float64 oracle (float64 ``batch_jacobian`` of the
logits and the cancellation-free contraction of docs/method.md §1.1) on the first 64 points.

Transitions: trajectory points per second of `TransitionCounter` on 8 random ellipses of
k = 3072 samples, as a multiple of a plain compiled forward pass over the same points.

All methods are interleaved and repeated; medians are printed.
Usage: python benchmarks/sensitivity_speed.py [--repeats=5]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# The test suite's independent float64 oracle, for the accuracy column.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from sensitivity_tf.commands import cli  # noqa: E402  (quiet TensorFlow start-up)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sensitivity_tf.metrics import jacobian  # noqa: E402
from sensitivity_tf.networks import models
from sensitivity_tf.metrics import trajectories
from sensitivity_tf.metrics import transitions
import oracles  # noqa: E402

flags.DEFINE_integer("repeats", 5, "Interleaved repetitions.")
FLAGS = flags.FLAGS

# (label, input dim, classes, points, batch size of the direct routes)
SHAPES = [("MNIST-shaped", 784, 10, 1024, 256), ("CIFAR-shaped", 3072, 100, 256, 64)]
DEPTH, WIDTH = 4, 512


def layer_dims(d, k):
  return [d] + [WIDTH] * DEPTH + [k]


def forward_flops(d, k):
  dims = layer_dims(d, k)
  return 2 * sum(a * b for a, b in zip(dims[:-1], dims[1:]))


def ours_flops(d, k):
  """A forward pass, K − 1 difference rows through every layer but the first, then R."""
  dims = layer_dims(d, k)
  upper = 2 * (k - 1) * sum(a * b for a, b in zip(dims[1:-2], dims[2:-1]))
  return forward_flops(d, k) + upper + 2 * (k - 1) * WIDTH * min(d, WIDTH)


def direct_flops(d, k):
  return forward_flops(d, k) * (1 + k)  # a forward pass and K backward passes to the input


def oracle(model, x):
  """float64 batch_jacobian of the logits and the contraction of docs/method.md §1.1
  (tests/oracles.py)."""
  g, logits = oracles.logit_jacobian64(model, x, "relu")
  return oracles.spec_contraction_norms(g, logits)


def make_methods(model, x, batch, k):
  d = x.shape[1]
  spec = tf.TensorSpec((batch, d), tf.float32)

  ours = jacobian.JacobianNorm(model)  # default (automatic) batch size

  @tf.function(input_signature=[spec])
  def batch_jac(xb):
    with tf.GradientTape() as tape:
      tape.watch(xb)
      p = tf.nn.softmax(model(xb, training=False))
    j = tape.batch_jacobian(p, xb)
    return tf.sqrt(tf.reduce_sum(tf.square(j), axis=[1, 2]))

  @tf.function(input_signature=[spec])
  def per_class(xb):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(xb)
      p = tf.nn.softmax(model(xb, training=False))
      sums = [tf.reduce_sum(p[:, c]) for c in range(k)]
    sq = tf.zeros(tf.shape(xb)[0])
    for c in range(k):
      sq += tf.reduce_sum(tf.square(tape.gradient(sums[c], xb)), axis=1)
    return tf.sqrt(sq)

  @tf.function(input_signature=[spec])
  def fwd_bwd(xb):
    with tf.GradientTape() as tape:
      tape.watch(xb)
      s = tf.reduce_sum(model(xb, training=False))
    return tape.gradient(s, xb)

  def batched(fn):
    def run():
      return np.concatenate([fn(tf.constant(x[s:s + batch])).numpy()
                             for s in range(0, len(x), batch)])
    return run

  methods = {"ours": lambda: ours(x).norms, "TF batch_jacobian": batched(batch_jac),
             "TF one gradient per class": batched(per_class)}
  try:
    import jax
    import jax.numpy as jnp
    params = [(jnp.asarray(l.kernel.numpy()), jnp.asarray(l.bias.numpy()))
              for l in models.hidden_layers(model) + [model.get_layer("logits")]]

    def probs(xi):
      h = xi
      for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
          h = jax.nn.relu(h)
      return jax.nn.softmax(h)

    norms = jax.jit(jax.vmap(lambda xi: jnp.sqrt(jnp.sum(jax.jacrev(probs)(xi) ** 2))))
    methods["JAX vmap(jacrev)"] = lambda: np.concatenate(
        [np.asarray(norms(jnp.asarray(x[s:s + batch]))) for s in range(0, len(x), batch)])
  except ImportError:
    print("JAX not installed: skipping JAX vmap(jacrev) "
          "(pip install -r benchmarks/requirements.txt)")
  return methods, batched(fwd_bwd)


def timed(fns, repeats):
  for fn in fns.values():
    fn()  # compile / warm up
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      start = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - start)
  return {name: float(np.median(t)) for name, t in times.items()}


def matmul_gflops():
  a = tf.random.normal((2048, 2048))
  f = tf.function(lambda m: tf.matmul(m, m))
  f(a).numpy()
  start = time.perf_counter()
  for _ in range(10):
    out = f(a)
  out.numpy()
  return 10 * 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9


def jacobian_table(repeats):
  peak = matmul_gflops()
  print(f"large float32 matmul (2048^3): {peak:.0f} GFLOP/s")
  for label, d, k, n, batch in SHAPES:
    model = models.build_fc_network(d, k, DEPTH, WIDTH, "relu", seed=0)
    x = np.random.default_rng(0).random((n, d)).astype(np.float32)
    methods, fwd_bwd = make_methods(model, x, batch, k)
    reference = oracle(model, x[:64])
    errors = {name: float(np.max(np.abs(fn()[:64] / reference - 1))) for name, fn in methods.items()}
    times = timed(dict(methods, **{"forward+backward": fwd_bwd}), repeats)
    base = times.pop("forward+backward")
    print(f"\n{label} {d} -> {WIDTH}x{DEPTH} -> {k}, ReLU, {n} points, batch {batch}; "
          f"one forward+backward: {n / base:,.0f} points/s")
    print(f"{'method':28s} {'points/s':>10s} {'x fwd+bwd time':>15s} {'GFLOP/s':>8s} "
          f"{'max rel err':>12s}")
    for name, t in times.items():
      flops = (ours_flops if name == "ours" else direct_flops)(d, k) * n
      print(f"{name:28s} {n / t:10,.0f} {t / base:15.1f} {flops / t / 1e9:8.0f} "
            f"{errors[name]:12.1e}")


def transitions_table(repeats):
  model = models.build_fc_network(784, 10, DEPTH, WIDTH, "relu", seed=0)
  rng = np.random.default_rng(0)
  ellipses = [trajectories.Ellipse.through(*rng.random((3, 784))) for _ in range(8)]
  counter = transitions.TransitionCounter(model)
  k = counter.num_samples
  points = np.concatenate([e.samples(k) for e in ellipses]).astype(np.float32)
  forward = tf.function(lambda xb: model(xb, training=False),
                        input_signature=[tf.TensorSpec((None, 784), tf.float32)])

  def plain_forward():
    for s in range(0, len(points), counter.chunk_size):
      forward(points[s:s + counter.chunk_size]).numpy()

  times = timed({"transitions": lambda: counter.along(ellipses),
                 "plain forward": plain_forward}, repeats)
  n = len(points)
  print(f"\nTransitions, MNIST-shaped ReLU net, 8 ellipses x k={k}: "
        f"{n / times['transitions']:,.0f} trajectory points/s; plain forward pass "
        f"{n / times['plain forward']:,.0f} points/s; ratio "
        f"{times['plain forward'] / times['transitions']:.2f}x")


def main(_):
  jacobian_table(FLAGS.repeats)
  transitions_table(FLAGS.repeats)


if __name__ == "__main__":
  app.run(main)
