"""Sensitivity inside any Keras training loop: a callback for ``model.fit``.

    from sensitivity_tf.callbacks import SensitivityCallback
    model.fit(x, y, epochs=20, callbacks=[SensitivityCallback(x_probe, every_n_epochs=5)])

Every ``every_n_epochs`` epochs (and after the last one), `SensitivityCallback` computes the
exact ‖∂softmax(f(x))/∂x‖_F at every point of a fixed probe set, by the GradientTape route of
`sensitivity_tf.metrics.jacobian` (``api.jacobian_norms(model, x, route="gradient_tape")``,
compiled once for the whole training; within 1e-5 of the default route; the model's
outputs are its logits, or a final softmax that is detected and looked through), and adds
to the epoch's logs, so to ``History`` and to any later callback:

* ``jacobian_norm_mean``: the mean over the probe points (the paper's per-model number);
* ``jacobian_norm_q<p>``: quantiles of the per-point norms (default the 10th, 50th, 90th);
* with ``transitions_loops`` (closed trajectories, e.g. `sensitivity_tf.api.ellipses`):
  ``transitions_mean``, the mean transitions per loop (`sensitivity_tf.api.transitions`,
  ``num_samples`` samples per loop).

On the other epochs these keys hold NaN, so that ``History.history`` lists stay aligned with
the epochs **[ours]**. With ``log_dir`` the same values are also written as TensorBoard
scalars ``sensitivity/<key>`` at step = epoch (1-based), on the measured epochs only.

Overhead, `benchmarks/callback_overhead.py --repeats=3 --epochs=4` on this project's 2-core
CPU (2026-12-04, with other jobs running: load average 3-5, so these are upper bounds): a
784-256-256-10 ReLU network, Adam, batch 128, 5,000 Fashion-MNIST examples, 0.66 s per epoch
without the callback; ‖J‖ on 256 probe points after every epoch adds 0.19 s per epoch (+29%),
with transitions on 8 ellipses of 768 samples +38.5%. The cost is per measured epoch and
does not grow with the training set: with ``every_n_epochs=5`` it is a fifth of that.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf import api
from sensitivity_tf.metrics import jacobian


class SensitivityCallback(keras.callbacks.Callback):
  """Logs ‖J‖ (and optionally transitions) on a fixed probe set (module docstring).

  Args:
    probe_x: the probe points, as the model receives them.
    every_n_epochs: measure after every n-th epoch (and after the last one).
    quantiles: quantiles of the per-point norms to log, as fractions in [0, 1].
    transitions_loops: closed trajectories whose transitions to count (None: no count).
    num_samples: samples per loop (a multiple of 6 and of ``bins``).
    bins: angle bins of the counter.
    log_dir: a TensorBoard log directory for the scalars (None: logs only).
  """

  def __init__(self, probe_x, every_n_epochs: int = 1,
               quantiles: Sequence[float] = (0.1, 0.5, 0.9), transitions_loops=None,
               num_samples: int = 768, bins: int = 32, log_dir: Optional[str] = None):
    super().__init__()
    if not isinstance(every_n_epochs, int) or every_n_epochs < 1:
      raise ValueError(f"every_n_epochs={every_n_epochs!r} is invalid; allowed: an integer >= 1")
    if any(not 0 <= q <= 1 for q in quantiles):
      raise ValueError(f"quantiles={list(quantiles)!r} is invalid; allowed: fractions in [0, 1]")
    self.probe_x = np.asarray(probe_x)
    if len(self.probe_x) == 0:
      raise ValueError("probe_x is empty; allowed: at least one point")
    self.every_n_epochs = every_n_epochs
    self.quantiles = tuple(quantiles)
    self.loops = transitions_loops
    self.num_samples, self.bins = num_samples, bins
    self.log_dir = log_dir
    self._writer = None
    self._epochs = None
    self._norm = None

  @property
  def keys(self):
    keys = ["jacobian_norm_mean"] + [self.quantile_key(q) for q in self.quantiles]
    return keys + (["transitions_mean"] if self.loops else [])

  @staticmethod
  def quantile_key(q: float) -> str:
    return f"jacobian_norm_q{100 * q:g}"

  def on_train_begin(self, logs=None):
    self._epochs = (self.params or {}).get("epochs")
    if self.log_dir and self._writer is None:
      self._writer = tf.summary.create_file_writer(self.log_dir)

  def measure(self) -> dict:
    """The values of `keys` for the model as it is now."""
    if self._norm is None or self._norm.model is not self.model:
      # One compiled function for the whole training: the GradientTape route reads the
      # model's variables when it runs (the FC route would copy them when built).
      self._norm = jacobian.JacobianNorm(self.model, route="gradient_tape")
    norms = self._norm(self.probe_x).norms
    out = {"jacobian_norm_mean": float(np.mean(norms))}
    out.update({self.quantile_key(q): float(np.quantile(norms, q)) for q in self.quantiles})
    if self.loops:
      counts = api.transitions(self.model, self.loops, num_samples=self.num_samples,
                               bins=self.bins).counts
      out["transitions_mean"] = float(np.mean(counts))
    return out

  def on_epoch_end(self, epoch, logs=None):
    logs = logs if logs is not None else {}
    last = self._epochs is not None and epoch + 1 == self._epochs
    if (epoch + 1) % self.every_n_epochs and not last:
      logs.update({k: math.nan for k in self.keys})
      return
    values = self.measure()
    logs.update(values)
    if self._writer is not None:
      with self._writer.as_default():
        for key, value in values.items():
          tf.summary.scalar(f"sensitivity/{key}", value, step=epoch + 1)
      self._writer.flush()

  def on_train_end(self, logs=None):
    if self._writer is not None:
      self._writer.close()
      self._writer = None
