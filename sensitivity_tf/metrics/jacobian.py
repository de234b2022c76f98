"""The input-output Jacobian norm ‖J(x)‖_F of docs/method.md §1.1, exact and fast.

J(x) = ∂softmax(f(x))/∂xᵀ (``variant="softmax"``, the paper's metric, the default) or
∂f(x)/∂xᵀ (``variant="logits"``), an n_classes × d matrix per point. We return its Frobenius
norm per point (not squared); the per-model number of the paper is the mean of these over
test points (`mean_norm`).

Two routes, chosen per model (`JacobianNorm`, ``settings["route"]``): the analytic **FC
route** below (``"gram"`` or ``"direct"``) for any plain Dense stack with supported
nonlinearities, ours or not (`sensitivity_tf.networks.classifier.fc_stack`), and the **GradientTape
route** (``"gradient_tape"``) for any other differentiable Keras classifier: the K − 1
logit-difference gradients ∂(f_{k*} − f_j)/∂x per point from one forward pass and K − 1
backward passes of the whole batch through a persistent ``tf.GradientTape``, each seeded at
the logits with e_{k*} − e_j, then the contraction of step 3 in float64 with R = I. (Measured
here on the benchmark CNN, 32 points per call: 0.08-0.33 s per call against 0.60-0.70 s for
``batch_jacobian``'s vectorized form of the same gradients and 0.39-0.49 s for one backward
pass of the batch tiled K − 1 times; shared 2-core CPU, so the ranges are wide.) A model ending in softmax is evaluated
at the softmax's pre-activation (`sensitivity_tf.networks.classifier.logits_model`). Measured against
a float64 batch_jacobian of a float64 twin of each test CNN: within 1e-5 relative.

How the FC route computes it (all exact, no estimate, unless ``num_projections`` is set):

1. One forward pass in inference mode gives every pre-activation z_l and the logits f.
2. With k* the top class, the K − 1 logit-difference gradients D_j = ∂(f_{k*} − f_j)/∂z_1
   (j ≠ k*), taken with respect to the *first* affine output z_1 (the first hidden
   pre-activation; f itself for depth 0), are built by the chain rule as batched matrix
   products from the top layer down, D ← (D ⊙ φ'(z_l)) W_lᵀ, in float32. Pushing the
   differences themselves (rather than subtracting logit gradients afterwards) loses no
   digits to components the logit gradients share, and needs one row fewer than the K
   gradients: K − 1 backward passes through every layer but the first, as large matmuls.
3. The softmax contraction without cancellation (docs/method.md §1.1). With σ = Σ_{j≠k*} p_j
   (computed from a float64 log-softmax, never as 1 − p_max) and w_j = p_j/σ (j ≠ k*,
   Σ w_j = 1), the rows of J/σ in z_1-space are b̃_{k*} = p_{k*} c and b̃_j = p_j c − w_j D_j,
   with c = Σ_j w_j D_j. This equals p_k Σ_j p_j (g_k − g_j) / σ exactly (docs/method.md §1.1) but
   sums only the D_j with weights in [0, 1]. Dividing by σ keeps b̃ of order one, so
   squares never underflow even where ‖J‖ is 1e-200.
4. The first layer is applied through a fixed matrix R with ‖b W_1ᵀ‖ = ‖b Rᵀ‖: when the
   first layer is narrower than the input (width < d), R is the triangular factor of
   W_1 = QR (width × width, computed once per model in float64), which replaces the d-wide
   product by a width-wide one (the "Gram route": RᵀR = W_1ᵀW_1); otherwise R = W_1ᵀ
   itself (the direct route). The contraction of step 3 is linear, so it is applied after
   this product: ‖J‖ = σ · ‖B̃ Rᵀ‖_F, with log10‖J‖ = log10 σ + log10‖B̃ Rᵀ‖_F always finite.

Precision: float64 where saturation would destroy digits (log-softmax, σ, the weights),
float32 elsewhere. Measured against a float64 oracle: within 2e-6 relative (tests), 2e-7
on the benchmark networks. ‖J‖ is that of the float32 network at its float32 logits; at a
logit gap Δ the float32 rounding of the logits themselves (6e-8 of their magnitude) moves ‖J‖
by the same relative amount, as it would any float32 evaluation.

Where σ underflows in float64 (a logit gap above ~745), ‖J‖ comes out as exactly 0 while
log10‖J‖ stays finite; such points are counted in ``JacobianNorms.underflow_count`` and
never silently dropped. For the logits variant σ = 1 and no contraction is needed.

``num_projections = n`` switches to a random-projection estimate for very wide outputs:
‖J‖²_F = E_v ‖vᵀJ‖² for v ~ N(0, I_K), averaged over n draws per point, which pushes n
rows instead of K through the network. Its relative standard error is at most
sqrt(2/n) on ‖J‖²_F, about sqrt(1/(2n)) on ‖J‖_F (`estimator_relative_error`).

Inputs are processed in batches of a fixed size (the last one padded), so each model gets
one compiled function and calls never retrace.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf.networks import classifier

VARIANTS = ("softmax", "logits")
LOG10 = math.log(10.0)


@dataclasses.dataclass
class JacobianNorms:
  """Per-point Jacobian norms and how they were computed."""

  norms: np.ndarray         # float64 (N,): ‖J(x)‖_F; 0 by float64 underflow or a zero J
  log10_norms: np.ndarray   # float64 (N,): log10 ‖J(x)‖_F, finite even where norms underflow
                            # (-inf only where J is exactly zero)
  underflow_count: int      # points whose norm underflowed to exactly 0 in float64
  settings: dict            # variant, route, dtype, estimator, batch size

  @property
  def mean_norm(self) -> float:
    """The paper's per-model number: the mean over points of the per-point norms."""
    return float(np.mean(self.norms))


def estimator_relative_error(num_projections: int) -> float:
  """Upper bound on the relative standard error of the estimated ‖J‖²_F (Gaussian v)."""
  return math.sqrt(2.0 / num_projections)


ROUTES = ("auto", "fc", "gradient_tape")


def _softmax_weights(f, variant):
  """From float64 logits f (B, K): p, the top class k*, log σ and w_j = p_j/σ (module
  docstring, step 3); σ = 1 and w unused for the logits variant."""
  p = tf.exp(tf.nn.log_softmax(f))
  top = tf.argmax(f, axis=1, output_type=tf.int32)
  top_onehot = tf.one_hot(top, tf.shape(f)[1], dtype=tf.float64)
  if variant == "softmax":
    top_mask = top_onehot > 0
    others = tf.where(top_mask, tf.constant(-np.inf, tf.float64), f)
    lse_others = tf.reduce_logsumexp(others, axis=1, keepdims=True)
    log_sigma = lse_others[:, 0] - tf.reduce_logsumexp(f, axis=1)   # log Σ_{j≠k*} p_j
    w = tf.where(top_mask, tf.zeros_like(f), tf.exp(f - lse_others))  # p_j / σ
  else:
    log_sigma = tf.zeros(tf.shape(f)[:1], tf.float64)
    w = tf.zeros_like(f)
  return p, top, top_onehot, log_sigma, w


def _other_classes(top, k):
  """(B, K−1) the classes j ≠ k* of each point, in a fixed cyclic order."""
  return (top[:, None] + 1 + tf.range(k - 1)[None, :]) % k


def _projection_coefficients(v, p, w, top_onehot, variant):
  """Gaussian draws v (B, n, K) mapped to logit space: vᵀ(J/σ) = (vᵀC) ∂f/∂x with
  C_kj = [j=k*](p_k − w_k) − p_k w_j + [j=k] w_k (softmax) or C = I (logits)."""
  if variant != "softmax":
    return v
  coeff = ((p - w)[:, :, None] * top_onehot[:, None, :] - p[:, :, None] * w[:, None, :]
           + tf.linalg.diag(w))
  return tf.einsum("bnk,bkj->bnj", v, coeff)


def _contract(e, p, w, top, other):
  """‖B̃‖²_F from the K − 1 difference rows e_j = D_j (times any fixed matrix), (B, K−1, m),
  without cancellation (module docstring, step 3), in e's dtype, returned as float64."""
  dtype = e.dtype
  w_other = tf.cast(tf.gather(w, other, batch_dims=1), dtype)           # Σ = 1
  p_other = tf.cast(tf.gather(p, other, batch_dims=1), dtype)
  p_top = tf.cast(tf.gather(p, top, batch_dims=1), dtype)
  c = tf.squeeze(tf.matmul(w_other[:, None, :], e), 1)                   # Σ_j w_j e_j
  # rows of J/σ: b̃_{k*} = p_{k*} c, b̃_j = p_j c − w_j e_j
  rest = p_other[:, :, None] * c[:, None, :] - w_other[:, :, None] * e
  sq = (tf.square(p_top) * tf.reduce_sum(tf.square(c), axis=1)
        + tf.reduce_sum(tf.square(rest), axis=[1, 2]))
  return tf.cast(sq, tf.float64)


class JacobianNorm:
  """Computes ‖J(x)‖_F for any differentiable Keras classifier.

  Two routes, chosen automatically (``route="auto"``) and recorded in ``settings``:

  * the analytic FC route (``"gram"`` or ``"direct"``, module docstring) for any plain
    Dense stack with supported nonlinearities (`sensitivity_tf.networks.classifier.fc_stack`);
  * the **GradientTape route** (``"gradient_tape"``) for everything else (convolutions,
    pooling, BatchNorm and Dropout in inference mode, residual adds, Rescaling, subclassed
    models): per point, the K − 1 logit-difference gradients ∂(f_{k*} − f_j)/∂x (one
    forward pass, K − 1 backward passes of the batch), then the same cancellation-free
    contraction in float64. The logits are
    found by `sensitivity_tf.networks.classifier.logits_model` (a final softmax is removed).

  ‖J‖ is with respect to the model's input as the model receives it (inputs are reshaped
  to the model's input shape; the norm is over all input elements).

  Args:
    model: a Keras classifier (logits or softmax output).
    variant: ``"softmax"`` (default, the paper's) or ``"logits"``.
    batch_size: points per compiled call (the last batch is padded); None = automatic.
    num_projections: None for the exact norm; n > 0 for the random-projection estimate.
    seed: seed of the projections (estimate only).
    route: ``"auto"``, ``"fc"`` (refused unless the model is a plain Dense stack) or
      ``"gradient_tape"``.
  """

  def __init__(self, model: keras.Model, variant: str = "softmax",
               batch_size: Optional[int] = None, num_projections: Optional[int] = None,
               seed: int = 0, route: str = "auto"):
    if variant not in VARIANTS:
      raise ValueError(f"unknown Jacobian variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    if num_projections is not None and num_projections < 1:
      raise ValueError(f"num_projections={num_projections} is invalid; allowed: None or >= 1")
    if route not in ROUTES:
      raise ValueError(f"unknown Jacobian route {route!r}; allowed: {', '.join(ROUTES)}")
    self.variant = variant
    self.num_projections = num_projections
    self.seed = seed
    self.model = model
    self._requested_batch_size = batch_size
    stack = classifier.fc_stack(model) if route != "gradient_tape" else None
    if route == "fc" and stack is None:
      raise classifier.ClassifierError(
          f"model {model.name!r} is not a plain Dense stack; the fc route cannot be used "
          "(allowed: route='auto' or 'gradient_tape')")
    self._fn = None
    self.input_shape = self.batch_size = self.num_classes = self.logits_description = None
    if stack is not None:
      self._init_fc(stack)
    else:
      self.route = "gradient_tape"
      self.logits = None
      if classifier.is_graph_model(model):
        self._init_tape(classifier.logits_model(model))

  @property
  def settings(self) -> dict:
    weights = sorted({w.dtype.name if hasattr(w.dtype, "name") else str(w.dtype)
                      for w in self.model.weights}) or ["float32"]
    if self.route != "gradient_tape":
      dtype = "float32 network, float64 softmax contraction" + (
          f" (weights cast from {'/'.join(weights)})" if weights != ["float32"] else "")
    else:
      computes = sorted({str(getattr(layer, "compute_dtype", "float32"))
                         for layer in getattr(self.model, "layers", [])}) or ["float32"]
      dtype = (f"{'/'.join(computes)} network and gradients, float64 softmax contraction")
    return dict(variant=self.variant, route=self.route, batch_size=self.batch_size,
                estimator=("random_projection" if self.num_projections else "exact"),
                num_projections=self.num_projections, seed=self.seed if self.num_projections
                else None, dtype=dtype, logits=self.logits_description,
                input_shape=list(self.input_shape) if self.input_shape else None)

  def _auto_batch(self, rows: int, low: int, high: int) -> int:
    if self._requested_batch_size:
      return int(self._requested_batch_size)
    return int(2 ** int(np.clip(np.log2(max(rows // self.num_classes, 1)), low, high)))

  # ------------------------------------------------------------------ FC route
  def _init_fc(self, stack: classifier.FCStack) -> None:
    self.stack = stack
    self.input_shape = stack.input_shape
    self.input_dim = stack.input_dim
    self.num_classes = stack.num_classes
    self.logits_description = "plain Dense stack " + " -> ".join(stack.layer_names)
    # Automatic: about 8192 gradient rows per call, a power of two (512 points for 10
    # classes, 64 for 100): large matmuls, little padding waste.
    self.batch_size = self._auto_batch(8192, 5, 9)
    self.nonlinearities = [nl for _, _, nl in stack.hidden]
    self._hidden = [(tf.constant(w), tf.constant(b)) for w, b, _ in stack.hidden]
    # Transposed kernels of the hidden layers above the first, top-down, and the logit
    # layer's kernel as rows (K x width_L), for the chain rule.
    self._logit_kernel = tf.constant(stack.logits[0])
    self._logit_bias = tf.constant(stack.logits[1])
    self._logit_rows = tf.constant(stack.logits[0].T)
    self._down_kernels = [tf.constant(w) for w, _, _ in stack.hidden[1:]][::-1]
    first = (stack.hidden[0][0] if stack.hidden else stack.logits[0]).astype(np.float64)
    width = first.shape[1]
    if width < self.input_dim:
      self.route = "gram"
      r = np.linalg.qr(first, mode="r")              # width x width, RᵀR = W1ᵀW1
      self._first = tf.constant(r.astype(np.float32))
    else:
      self.route = "direct"
      self._first = tf.constant(first.astype(np.float32))  # W1 itself, d x width
    self._fn = tf.function(self._fc_batch, input_signature=[
        tf.TensorSpec((self.batch_size, self.input_dim), tf.float32), tf.TensorSpec((), tf.int64)])

  def _forward(self, x):
    """Every hidden pre-activation and the logits, in float32, in one pass."""
    pre, h = [], x
    for (w, b), nl in zip(self._hidden, self.nonlinearities):
      z = tf.matmul(h, w) + b
      pre.append(z)
      h = nl.fn(z)
    return pre, tf.matmul(h, self._logit_kernel) + self._logit_bias

  def _projections(self, batch, batch_index, p, w, top_onehot):
    v = tf.random.stateless_normal((batch, self.num_projections, self.num_classes),
                                   seed=tf.stack([tf.constant(self.seed, tf.int64), batch_index]),
                                   dtype=tf.float64)
    return tf.cast(_projection_coefficients(v, p, w, top_onehot, self.variant), tf.float32)

  def _fc_batch(self, x, batch_index):
    pre, logits = self._forward(x)
    derivatives = [nl.derivative(z) for z, nl in zip(pre, self.nonlinearities)]
    k = self.num_classes
    batch = tf.shape(x)[0]
    p, top, top_onehot, log_sigma, w = _softmax_weights(tf.cast(logits, tf.float64),
                                                        self.variant)
    if self.num_projections:
      rows = self._logit_space_rows(self._projections(batch, batch_index, p, w, top_onehot),
                                    derivatives)
      scaled = self._first_layer(rows)
      sq = tf.cast(tf.reduce_sum(tf.square(scaled), axis=[1, 2]), tf.float64)
      sq = sq / self.num_projections
    elif self.variant == "logits":
      rows = self._logit_space_rows(tf.eye(k, batch_shape=[batch]), derivatives)
      sq = tf.cast(tf.reduce_sum(tf.square(self._first_layer(rows)), axis=[1, 2]), tf.float64)
    else:
      # The K − 1 differences D_j = ∂(f_{k*} − f_j)/∂z_1, j ≠ k*, pushed down directly:
      # exact in float32 up to rounding (no shared component of the logit gradients is
      # ever subtracted), and one row fewer than the K logit gradients.
      other = _other_classes(top, k)                                            # (B, K-1)
      if self._down_kernels or derivatives:
        rows = (tf.gather(self._logit_rows, top)[:, None, :]
                - tf.gather(self._logit_rows, other))                             # (B, K-1, w_L)
        rows = self._down(rows, derivatives)
      else:  # depth 0: the first affine output is f itself
        rows = tf.one_hot(top, k)[:, None, :] - tf.one_hot(other, k)
      sq = _contract(self._first_layer(rows), p, w, top, other)                  # D_j Rᵀ
    # log ‖J‖ = log σ + ½ log ‖B̃ Rᵀ‖²; -inf only for a Jacobian that is exactly zero.
    return log_sigma + 0.5 * tf.math.log(sq)

  # ------------------------------------------------------------------ GradientTape route
  def _init_tape(self, logits: classifier.Logits) -> None:
    self.logits = logits
    self.input_shape = logits.input_shape
    self.input_dim = int(np.prod(self.input_shape))
    self.num_classes = logits.num_classes
    self.logits_description = logits.description
    # Automatic: about 512 gradient rows per call (32 points for 10 classes).
    self.batch_size = self._auto_batch(512, 3, 7)
    self._fn = tf.function(self._tape_batch, input_signature=[
        tf.TensorSpec((self.batch_size,) + tuple(self.input_shape), tf.float32),
        tf.TensorSpec((), tf.int64)])

  def _tape_batch(self, x, batch_index):
    k = self.num_classes
    batch = tf.shape(x)[0]
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(x)
      f32 = _at_least_float32(self.logits.model(x, training=False))
      p, top, top_onehot, log_sigma, w = _softmax_weights(tf.cast(f32, tf.float64),
                                                          self.variant)
      # Cotangents at the logits, one (B, K) row set per backward pass: a pass seeded with
      # e_{k*} − e_j differentiates the difference f_{k*} − f_j itself (never a difference
      # of two float32 gradients). Points are independent in inference mode, so the
      # gradient of the batch sum is each point's own gradient.
      if self.num_projections:
        seeds = tf.stop_gradient(self._projections(batch, batch_index, p, w, top_onehot))
        seeds = [seeds[:, i] for i in range(self.num_projections)]
      elif self.variant == "logits":
        seeds = [tf.one_hot(tf.fill([batch], j), k) for j in range(k)]
      else:
        other = _other_classes(top, k)
        seeds = [tf.one_hot(top, k) - tf.one_hot(other[:, j], k) for j in range(k - 1)]
      sums = [tf.reduce_sum(f32 * seed) for seed in seeds]
    rows = tf.stack([tf.reshape(tape.gradient(s, x), (batch, -1)) for s in sums], axis=1)
    rows = tf.cast(rows, tf.float64)
    if self.num_projections:
      sq = tf.reduce_sum(tf.square(rows), axis=[1, 2]) / self.num_projections
    elif self.variant == "logits":
      sq = tf.reduce_sum(tf.square(rows), axis=[1, 2])
    else:
      sq = _contract(rows, p, w, top, other)
    return log_sigma + 0.5 * tf.math.log(sq)

  @staticmethod
  def _times_transposed(rows, matrix, transpose=True):
    """(B, m, a) @ matrixᵀ with matrix (b, a) -> (B, m, b), as one 2-D matmul
    (``transpose=False``: (B, m, a) @ matrix with matrix (a, b))."""
    shape = tf.shape(rows)
    out = tf.matmul(tf.reshape(rows, (-1, shape[2])), matrix, transpose_b=transpose)
    width = tf.shape(matrix)[0 if transpose else 1]
    return tf.reshape(out, (shape[0], shape[1], width))

  def _logit_space_rows(self, rows, derivatives):
    """Rows (B, m, K) in logit space -> rows · ∂f/∂z_1, shape (B, m, width_1)."""
    if not derivatives:  # depth 0
      return rows
    return self._down(self._times_transposed(rows, self._logit_rows, transpose=False),
                      derivatives)

  def _down(self, rows, derivatives):
    """Rows (B, m, width_L) of gradients with respect to the last hidden activation ->
    gradients with respect to the first hidden pre-activation z_1: multiply by φ'(z_L),
    then, layer by layer downwards, by the transposed kernel and the next φ'."""
    rows = rows * derivatives[-1][:, None, :]
    for kernel, derivative in zip(self._down_kernels, reversed(derivatives[:-1])):
      rows = self._times_transposed(rows, kernel) * derivative[:, None, :]
    return rows

  def _first_layer(self, rows):
    """rows (B, m, width_1) -> rows · Rᵀ, whose norm is that of rows · W_1ᵀ (module
    docstring); R is W_1's triangular factor (gram route) or W_1 itself (direct)."""
    return self._times_transposed(rows, self._first)

  # ------------------------------------------------------------------ public
  def _prepare(self, x) -> np.ndarray:
    """Points in the shape the compiled function takes; ValueError when they do not fit."""
    x = np.asarray(x, np.float32)
    if self._fn is None:  # a subclassed model: its logits are checked on the first points
      self._init_tape(classifier.logits_model(self.model, probe=x[:8]))
    per_point = int(np.prod(x.shape[1:])) if x.ndim > 1 else 0
    if per_point != self.input_dim or not _same_layout(x.shape[1:], self.input_shape):
      raise ValueError(f"inputs of shape {tuple(x.shape[1:])} do not fit the model's input shape "
                       f"{tuple(self.input_shape)} (allowed: that shape, or flat points of "
                       f"{self.input_dim} values)")
    if self.route == "gradient_tape":
      return x.reshape((-1,) + tuple(self.input_shape))
    return x.reshape(-1, self.input_dim)

  def logits_of(self, x, batch_size: int = 4096) -> np.ndarray:
    """The logits f(x) the norms are computed at (float32, (N, K)): the model's output, or
    the pre-activation of its final softmax."""
    x = self._prepare(x)
    out = []
    for start in range(0, len(x), batch_size):
      chunk = tf.constant(x[start:start + batch_size])
      if self.route == "gradient_tape":
        out.append(np.asarray(_at_least_float32(self.logits.model(chunk, training=False))))
      else:
        out.append(self._forward(chunk)[1].numpy())
    return np.concatenate(out) if out else np.zeros((0, self.num_classes), np.float32)

  def __call__(self, x) -> JacobianNorms:
    x = self._prepare(x)
    n = len(x)
    log_norms = np.empty(n, np.float64)
    for start in range(0, n, self.batch_size):
      chunk = x[start:start + self.batch_size]
      m = len(chunk)
      if m < self.batch_size:
        chunk = np.concatenate([chunk, np.zeros((self.batch_size - m,) + chunk.shape[1:],
                                                np.float32)])
      log_norm = self._fn(chunk, tf.constant(start // self.batch_size, tf.int64))
      log_norms[start:start + m] = log_norm.numpy()[:m]
    norms = np.exp(log_norms)
    # Underflow: a finite log-norm whose exponential is 0. A Jacobian that is exactly zero
    # (every first-layer ReLU off) has log-norm -inf and is not an underflow.
    underflow = int(np.sum((norms == 0.0) & np.isfinite(log_norms)))
    return JacobianNorms(norms=norms, log10_norms=log_norms / LOG10, underflow_count=underflow,
                         settings=self.settings)


def _at_least_float32(logits):
  """16-bit logits (a float16 or mixed_float16 model) as float32, so that they meet the
  float32 cotangents; wider ones unchanged."""
  return tf.cast(logits, tf.float32) if logits.dtype.size < 4 else logits


def _same_layout(points, model) -> bool:
  """Whether points of shape ``points`` may be fed to a model input of shape ``model`` (same
  number of values): flat points (reshaped in the model's layout) or a flat model input
  always; otherwise the same shape up to trailing 1s ((28, 28, 1) and (28, 28)), never a
  reshape that moves values ((8, 8, 3) into (3, 8, 8))."""
  points, model = tuple(points), tuple(model)
  def trimmed(shape):
    while len(shape) > 1 and shape[-1] == 1:
      shape = shape[:-1]
    return shape
  return len(points) <= 1 or len(model) <= 1 or trimmed(points) == trimmed(model)


def jacobian_norms(model: keras.Model, x, **kwargs) -> JacobianNorms:
  """Convenience: ``JacobianNorm(model, **kwargs)(x)``."""
  return JacobianNorm(model, **kwargs)(x)
