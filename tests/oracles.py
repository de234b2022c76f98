"""Independent float64 references for the sensitivity metrics, used only by the tests.

Nothing here shares code with `sensitivity_tf.metrics.jacobian` or `sensitivity_tf.metrics.transitions`:
the networks are re-evaluated from their weights in NumPy / float64 TensorFlow.
"""

import numpy as np
import tensorflow as tf

from sensitivity_tf.networks import models

NUMPY_FNS = {
    "relu": lambda z: np.maximum(z, 0),
    "relu6": lambda z: np.clip(z, 0, 6),
    "hard_tanh": lambda z: np.clip(z, -1, 1),
    "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / 6,
    "tanh": np.tanh,
}
TF_FNS = {
    "relu": tf.nn.relu,
    "relu6": tf.nn.relu6,
    "hard_tanh": lambda z: tf.clip_by_value(z, -1.0, 1.0),
    "hard_sigmoid": lambda z: tf.nn.relu6(z + 3.0) / 6.0,
    "tanh": tf.tanh,
}


def weights64(model):
  layers = models.hidden_layers(model) + [model.get_layer("logits")]
  return [(l.kernel.numpy().astype(np.float64), l.bias.numpy().astype(np.float64))
          for l in layers]


def forward64(model, x, name):
  """(pre-activations list, logits) in float64 NumPy."""
  h = np.asarray(x, np.float64)
  pre = []
  ws = weights64(model)
  for i, (w, b) in enumerate(ws):
    z = h @ w + b
    if i < len(ws) - 1:
      pre.append(z)
      h = NUMPY_FNS[name](z)
    else:
      return pre, z


def softmax64(f):
  f = f - f.max(axis=-1, keepdims=True)
  e = np.exp(f)
  return e / e.sum(axis=-1, keepdims=True)


def log_softmax64(f):
  m = f.max(axis=-1, keepdims=True)
  return f - m - np.log(np.exp(f - m).sum(axis=-1, keepdims=True))


def _jacobian64(model, x, name, softmax=False):
  """float64 `batch_jacobian` of the logits (or of tf.nn.softmax of them) and the logits."""
  ws = weights64(model)
  xt = tf.constant(np.asarray(x, np.float64))
  with tf.GradientTape() as tape:
    tape.watch(xt)
    h = xt
    for i, (w, b) in enumerate(ws):
      h = h @ w + b
      if i < len(ws) - 1:
        h = TF_FNS[name](h)
    out = tf.nn.softmax(h) if softmax else h
  return tape.batch_jacobian(out, xt).numpy(), h.numpy()


def logit_jacobian64(model, x, name):
  """float64 `batch_jacobian` of the logits, (B, K, d), and the float64 logits."""
  return _jacobian64(model, x, name)


def spec_contraction_norms(g, logits):
  """SPEC §1.1: row_k(J) = p_k Σ_j p_j (g_k − g_j), p from a float64 log-softmax."""
  p = np.exp(log_softmax64(np.asarray(logits, np.float64)))
  rows = p[:, :, None] * np.einsum("bj,bkjd->bkd", p, g[:, :, None, :] - g[:, None, :, :])
  return np.sqrt((rows ** 2).sum(axis=(1, 2)))


def naive_norms(g, logits):
  """(diag p − p pᵀ) J_z in float64: the formula that cancels catastrophically."""
  p = softmax64(np.asarray(logits, np.float64))
  s = np.einsum("bk,kj->bkj", p, np.eye(p.shape[1])) - p[:, :, None] * p[:, None, :]
  return np.sqrt((np.einsum("bkj,bjd->bkd", s, g) ** 2).sum(axis=(1, 2)))


def tf_softmax_jacobian_norms(model, x, name):
  """TensorFlow's own softmax gradient: float64 batch_jacobian of tf.nn.softmax."""
  j, _ = _jacobian64(model, x, name, softmax=True)
  return np.sqrt((j ** 2).sum(axis=(1, 2)))


def finite_difference_norms(model, x, name, variant="softmax", h=1e-6):
  """Central differences of softmax (or logits) in float64, one input feature at a time."""
  x = np.asarray(x, np.float64)
  out = []
  for point in x:
    d = len(point)
    plus = point[None, :] + h * np.eye(d)
    minus = point[None, :] - h * np.eye(d)
    fp, fm = forward64(model, plus, name)[1], forward64(model, minus, name)[1]
    if variant == "softmax":
      fp, fm = softmax64(fp), softmax64(fm)
    jac = (fp - fm) / (2 * h)  # (d, K)
    out.append(np.sqrt((jac ** 2).sum()))
  return np.array(out)
