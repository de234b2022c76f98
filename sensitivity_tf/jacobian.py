"""The input-output Jacobian norm ‖J(x)‖_F of docs/method.md §1.1, exact and fast.

J(x) = ∂softmax(f(x))/∂xᵀ (``variant="softmax"``, the paper's metric, the default) or
∂f(x)/∂xᵀ (``variant="logits"``), an n_classes × d matrix per point. We return its Frobenius
norm per point (not squared); the per-model number of the paper is the mean of these over
test points (`mean_norm`).

How it is computed (all exact, no estimate, unless ``num_projections`` is set):

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

from sensitivity_tf import models

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


class JacobianNorm:
  """Computes ‖J(x)‖_F for any network built by `sensitivity_tf.models`.

  Args:
    model: the Keras FC network (logits output).
    variant: ``"softmax"`` (default, the paper's) or ``"logits"``.
    batch_size: points per compiled call (the last batch is padded); None = automatic.
    num_projections: None for the exact norm; n > 0 for the random-projection estimate.
    seed: seed of the projections (estimate only).
  """

  def __init__(self, model: keras.Model, variant: str = "softmax",
               batch_size: Optional[int] = None, num_projections: Optional[int] = None,
               seed: int = 0):
    if variant not in VARIANTS:
      raise ValueError(f"unknown Jacobian variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    if num_projections is not None and num_projections < 1:
      raise ValueError(f"num_projections={num_projections} is invalid; allowed: None or >= 1")
    self.variant = variant
    logits_units = int(model.get_layer("logits").units)
    # Automatic: about 8192 gradient rows per call, a power of two (512 points for 10
    # classes, 64 for 100): large matmuls, little padding waste.
    self.batch_size = int(batch_size or 2 ** int(np.clip(np.log2(8192 // logits_units), 5, 9)))
    self.num_projections = num_projections
    self.seed = seed
    self.pre_model = models.pre_activation_model(model)
    self.nonlinearity = models.nonlinearity_of(model)
    hidden = models.hidden_layers(model)
    logits_layer = model.get_layer("logits")
    self.input_dim = int(model.input.shape[-1])
    self.num_classes = int(logits_layer.units)
    # Transposed kernels of the hidden layers above the first, top-down, and the logit
    # layer's kernel as rows (K x width_L), for the chain rule.
    self._logit_rows = tf.constant(logits_layer.kernel.numpy().T)
    self._down_kernels = [tf.constant(layer.kernel.numpy()) for layer in hidden[1:]][::-1]
    first = (hidden[0] if hidden else logits_layer).kernel.numpy().astype(np.float64)
    width = first.shape[1]
    if width < self.input_dim:
      self.route = "gram"
      r = np.linalg.qr(first, mode="r")              # width x width, RᵀR = W1ᵀW1
      self._first = tf.constant(r.astype(np.float32))
    else:
      self.route = "direct"
      self._first = tf.constant(first.astype(np.float32))  # W1 itself, d x width
    self._fn = tf.function(self._batch, input_signature=[
        tf.TensorSpec((self.batch_size, self.input_dim), tf.float32), tf.TensorSpec((), tf.int64)])

  @property
  def settings(self) -> dict:
    return dict(variant=self.variant, route=self.route, batch_size=self.batch_size,
                estimator=("random_projection" if self.num_projections else "exact"),
                num_projections=self.num_projections, seed=self.seed if self.num_projections
                else None, dtype="float32 network, float64 softmax contraction")

  # ------------------------------------------------------------------ compiled batch
  def _batch(self, x, batch_index):
    outputs = self.pre_model(x, training=False)
    if not isinstance(outputs, (list, tuple)):
      outputs = [outputs]
    pre, logits = list(outputs[:-1]), outputs[-1]
    derivatives = [self.nonlinearity.derivative(z) for z in pre]
    k = self.num_classes
    batch = tf.shape(x)[0]

    f = tf.cast(logits, tf.float64)
    p = tf.exp(tf.nn.log_softmax(f))
    top = tf.argmax(f, axis=1, output_type=tf.int32)
    top_onehot = tf.one_hot(top, k, dtype=tf.float64)
    if self.variant == "softmax":
      top_mask = top_onehot > 0
      others = tf.where(top_mask, tf.constant(-np.inf, tf.float64), f)
      lse_others = tf.reduce_logsumexp(others, axis=1, keepdims=True)
      log_sigma = lse_others[:, 0] - tf.reduce_logsumexp(f, axis=1)   # log Σ_{j≠k*} p_j
      w = tf.where(top_mask, tf.zeros_like(f), tf.exp(f - lse_others))  # p_j / σ
    else:
      log_sigma = tf.zeros((batch,), tf.float64)

    if self.num_projections:
      v = tf.random.stateless_normal((batch, self.num_projections, k),
                                     seed=tf.stack([tf.constant(self.seed, tf.int64), batch_index]),
                                     dtype=tf.float64)
      if self.variant == "softmax":
        # Coefficients C with b̃ = C A (module docstring): C_kj = [j=k*](p_k − w_k)
        # − p_k w_j + [j=k] w_k.
        coeff = ((p - w)[:, :, None] * top_onehot[:, None, :] - p[:, :, None] * w[:, None, :]
                 + tf.linalg.diag(w))
        v = tf.einsum("bnk,bkj->bnj", v, coeff)
      rows = self._logit_space_rows(tf.cast(v, tf.float32), derivatives)
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
      other = (top[:, None] + 1 + tf.range(k - 1)[None, :]) % k                  # (B, K-1)
      if self._down_kernels or derivatives:
        rows = (tf.gather(self._logit_rows, top)[:, None, :]
                - tf.gather(self._logit_rows, other))                             # (B, K-1, w_L)
        rows = self._down(rows, derivatives)
      else:  # depth 0: the first affine output is f itself
        rows = tf.one_hot(top, k)[:, None, :] - tf.one_hot(other, k)
      e = self._first_layer(rows)                                                # D_j Rᵀ
      w_other = tf.cast(tf.gather(w, other, batch_dims=1), tf.float32)           # Σ = 1
      p_other = tf.cast(tf.gather(p, other, batch_dims=1), tf.float32)
      p_top = tf.cast(tf.gather(p, top, batch_dims=1), tf.float32)
      c = tf.squeeze(tf.matmul(w_other[:, None, :], e), 1)                       # Σ_j w_j D_j Rᵀ
      # rows of J/σ (times Rᵀ): b̃_{k*} = p_{k*} c, b̃_j = p_j c − w_j D_j (module docstring)
      rest = p_other[:, :, None] * c[:, None, :] - w_other[:, :, None] * e
      sq = (tf.square(p_top) * tf.reduce_sum(tf.square(c), axis=1)
            + tf.reduce_sum(tf.square(rest), axis=[1, 2]))
      sq = tf.cast(sq, tf.float64)
    # log ‖J‖ = log σ + ½ log ‖B̃ Rᵀ‖²; -inf only for a Jacobian that is exactly zero.
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
  def __call__(self, x) -> JacobianNorms:
    x = np.asarray(x, np.float32).reshape(-1, self.input_dim)
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


def jacobian_norms(model: keras.Model, x, **kwargs) -> JacobianNorms:
  """Convenience: ``JacobianNorm(model, **kwargs)(x)``."""
  return JacobianNorm(model, **kwargs)(x)
