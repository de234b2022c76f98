"""Training under the paper's protocol: a fixed budget of optimizer steps, well past the
first fit (docs/method.md §3), or, as a non-default option, stopping at the first fit.

The loop is ours rather than ``model.fit`` so that a run can stop on the accuracy of the
**un-augmented** training set, resume bit-for-bit from a checkpoint, and report divergence
as a status. It runs ``chunk`` optimizer steps per compiled call (a ``tf.range`` loop inside
one ``tf.function``), so Python is visited once per evaluation interval, not once per step.

Choices that are ours (the paper is silent; all listed in docs/method.md §7):

* Mini-batches: each epoch is a fresh permutation of the training set drawn from
  ``(seed, epoch)``; the last partial batch of an epoch is dropped so every step has the
  same shape. ``batch_size`` 0 (or any value >= the training-set size) means full batch;
  the effective batch size is recorded.
* Evaluation every ``eval_every`` steps (0 = auto: one epoch, but at least 20 steps, so
  full-batch runs are not dominated by evaluation): loss and accuracy on the full
  un-augmented training set (labels actually trained on) and on the test set (or, for the
  history only, a seeded subset of ``history_test_points`` test points).
* Snapshot steps (``snapshot_steps``): the network is also evaluated at each of them, so the
  history holds its training loss and accuracy there (train_run keeps its weights), which
  gives several training lengths from one run.
* Stop rule (``stop_rule``): ``budget`` (the default, the paper's protocol: Figure 1's
  networks "trained to 100% training accuracy" have final losses down to 1e-12, so they
  trained long after they first fit) runs exactly ``max_steps`` optimizer steps whatever
  the accuracy; ``first_fit`` stops at the first evaluation whose training accuracy
  reaches ``target_accuracy``, or at ``max_steps``. Under both, the *first fit* (step,
  epoch, loss and wall time of the first evaluation at ``target_accuracy``) is read from
  the history (`first_fit`), so it is measured to ``eval_every`` steps, and whether the
  network fits is judged on the final weights.
* A non-finite training loss anywhere in an interval ends the run with stop reason
  ``diverged`` (the weights of that moment are kept, not an exception raised).
* Loss: mean softmax cross-entropy of the logits; no weight decay, dropout or early stopping.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, List, Optional

import keras
import numpy as np
import tensorflow as tf

from sensitivity_tf.data import augmentation
from sensitivity_tf.data.preprocessing import Dataset

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
STOP_RULES = ("budget", "first_fit")
STOP_REASONS = ("budget", "target_accuracy", "max_steps", "diverged")
EVAL_BATCH = 4096


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
  """``sgd``, ``momentum`` (SGD with momentum 0.9), ``adam`` or ``rmsprop`` (Keras defaults
  for everything but the learning rate)."""
  if name == "sgd":
    return keras.optimizers.SGD(learning_rate)
  if name == "momentum":
    return keras.optimizers.SGD(learning_rate, momentum=0.9)
  if name == "adam":
    return keras.optimizers.Adam(learning_rate)
  if name == "rmsprop":
    return keras.optimizers.RMSprop(learning_rate)
  raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


@dataclasses.dataclass
class Evaluation:
  """One row of the training history (losses in nats, accuracies as fractions)."""

  step: int
  epoch: float
  wall_time: float
  batch_loss: float       # mean training loss over the optimizer steps of the interval
  batch_accuracy: float   # mean accuracy of those mini-batches, before each update
  train_loss: float
  train_accuracy: float
  test_loss: float
  test_accuracy: float


def first_fit(history: List[Evaluation], target_accuracy: float) -> Optional[Evaluation]:
  """The first evaluation whose training accuracy reached ``target_accuracy`` (None if
  none did): when the network first fit its training set."""
  return next((r for r in history if r.train_accuracy >= target_accuracy), None)


def snapshot_steps(settings) -> tuple:
  """The steps of ``settings.snapshot_steps`` ('' or comma-separated integers) as ints;
  ValueError on anything else."""
  text = str(getattr(settings, "snapshot_steps", "") or "").strip()
  return tuple(int(v) for v in text.split(",")) if text else ()


def fit_threshold(num_classes: int) -> float:
  """Training accuracy that counts as "100%": 1.0, or 0.999 with 100 classes (docs/method.md §4,
  the paper's CIFAR-100 rule [ours, from memory])."""
  return 0.999 if num_classes >= 100 else 1.0


@dataclasses.dataclass
class TrainResult:
  stop_reason: str
  steps: int
  epochs: float
  wall_time: float
  history: List[Evaluation]


class Trainer:
  """Trains ``model`` on ``dataset`` under ``settings``, the run's
  `sensitivity_tf.train.train_config.TrainConfig` (its optimizer, learning rate, batch size,
  target accuracy, step budget, stop rule, evaluation interval, seed, augmentation and
  history test points are read); see the module docstring."""

  def __init__(self, model: keras.Model, dataset: Dataset, settings):
    self.model = model
    self.dataset = dataset
    self.settings = settings
    n = len(dataset.x_train)
    self.num_train = n
    bs = settings.batch_size
    self.batch_size = n if bs <= 0 or bs >= n else bs
    self.steps_per_epoch = n // self.batch_size
    self.eval_every = settings.eval_every or max(self.steps_per_epoch, 20)
    self.target_accuracy = settings.target_accuracy or fit_threshold(dataset.num_classes)
    self.optimizer = make_optimizer(settings.optimizer, settings.learning_rate)
    self.optimizer.build(model.trainable_variables)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.history: List[Evaluation] = []
    # Test points of the history (a seeded subset when history_test_points is set; the
    # stopping rule never looks at them, and final metrics use the whole test set).
    n_test = len(dataset.x_test)
    if 0 < settings.history_test_points < n_test:
      pick = np.sort(np.random.default_rng([settings.seed, 3]).choice(
          n_test, settings.history_test_points, replace=False))
      self._history_test = (dataset.x_test[pick], dataset.y_test[pick])
    else:
      self._history_test = (dataset.x_test, dataset.y_test)
    self._x = tf.constant(dataset.x_train)
    self._y = tf.constant(dataset.y_train)
    self.augmentation_policy = (augmentation.policy_for(dataset.image_shape)
                                if settings.augment else None)
    self._shift = tf.constant(dataset.shift)
    self._scale = tf.constant(dataset.scale)
    self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    self._steps_fn = tf.function(self._run_steps, input_signature=[
        tf.TensorSpec((None, self.batch_size), tf.int32), tf.TensorSpec((), tf.int64)])
    self._eval_fn = tf.function(self._eval_batch, input_signature=[
        tf.TensorSpec((None, dataset.input_dim), tf.float32), tf.TensorSpec((None,), tf.int32)])

  # ---------------------------------------------------------------- state for checkpoints
  def checkpoint(self) -> tf.train.Checkpoint:
    """Everything a resumed run needs: weights, optimizer slots and the step counter."""
    return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)

  # ---------------------------------------------------------------- compiled pieces
  def batch_indices(self, start: int, count: int) -> np.ndarray:
    """Training-example indices of steps ``start .. start+count-1``, shape (count, batch)."""
    rows = []
    step = start
    while step < start + count:
      epoch, offset = divmod(step, self.steps_per_epoch)
      perm = np.random.default_rng([self.settings.seed, epoch]).permutation(self.num_train)
      take = min(self.steps_per_epoch - offset, start + count - step)
      rows.append(perm[offset * self.batch_size:(offset + take) * self.batch_size])
      step += take
    return np.concatenate(rows).reshape(count, self.batch_size).astype(np.int32)

  def _run_steps(self, indices, first_step):
    loss_sum = tf.constant(0.0, tf.float64)
    correct = tf.constant(0, tf.int64)
    finite = tf.constant(True)
    for i in tf.range(tf.shape(indices)[0]):
      idx = indices[i]
      x = tf.gather(self._x, idx)
      y = tf.gather(self._y, idx)
      if self.augmentation_policy is not None:
        seed = tf.stack([tf.constant(self.settings.seed, tf.int64),
                         first_step + tf.cast(i, tf.int64)])
        x = augmentation.augment(x, self.dataset.image_shape, self.augmentation_policy, seed,
                                 self._shift, self._scale)
      with tf.GradientTape() as tape:
        logits = self.model(x, training=True)
        loss = self._loss(y, logits)
      grads = tape.gradient(loss, self.model.trainable_variables)
      self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
      loss_sum += tf.cast(loss, tf.float64)
      correct += tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), y),
                                       tf.int64))
      finite = tf.logical_and(finite, tf.math.is_finite(loss))
    self.step.assign_add(tf.cast(tf.shape(indices)[0], tf.int64))
    return loss_sum, correct, finite

  def _eval_batch(self, x, y):
    logits = self.model(x, training=False)
    losses = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), y),
                                    tf.int64))
    return tf.reduce_sum(tf.cast(losses, tf.float64)), correct

  def evaluate(self, x: np.ndarray, y: np.ndarray):
    """(mean loss, accuracy) of the model in inference mode on ``x``, ``y``. The accuracy is
    NaN when the loss is not finite (NaN logits of a diverged network: their argmax, class
    0, says nothing)."""
    loss, correct = 0.0, 0
    for start in range(0, len(x), EVAL_BATCH):
      l, c = self._eval_fn(x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH])
      loss += float(l)
      correct += int(c)
    return loss / len(x), (correct / len(x) if math.isfinite(loss) else math.nan)

  # ---------------------------------------------------------------- the loop
  def _stop_reason(self, record: Evaluation, finite: bool) -> Optional[str]:
    if not finite or not math.isfinite(record.train_loss):
      return "diverged"
    if self.settings.stop_rule == "budget":
      return "budget" if record.step >= self.settings.max_steps else None
    if record.train_accuracy >= self.target_accuracy:
      return "target_accuracy"
    if record.step >= self.settings.max_steps:
      return "max_steps"
    return None

  def run(self, on_evaluation: Optional[Callable[[Evaluation], None]] = None,
          elapsed_before: float = 0.0) -> TrainResult:
    """Trains from the current step until a stop reason; calls ``on_evaluation`` after each
    evaluation (the place to write history and checkpoints). ``elapsed_before`` is the wall
    time already spent by an interrupted run that this one resumes."""
    s = self.settings
    start_time = time.time() - elapsed_before
    stop_reason = None
    if self.history and self.history[-1].step == int(self.step.numpy()):
      # Resumed right after an evaluation: it may already have met a stop condition.
      stop_reason = self._stop_reason(self.history[-1], finite=True)
    while stop_reason is None:
      step = int(self.step.numpy())
      count = min([self.eval_every - step % self.eval_every, s.max_steps - step]
                  + [k - step for k in snapshot_steps(s) if k > step])
      if count <= 0:
        stop_reason = "budget" if s.stop_rule == "budget" else "max_steps"
        break
      loss_sum, correct, finite = self._steps_fn(self.batch_indices(step, count),
                                                 tf.constant(step, tf.int64))
      train_loss, train_acc = self.evaluate(self.dataset.x_train, self.dataset.y_train)
      test_loss, test_acc = self.evaluate(*self._history_test)
      step = int(self.step.numpy())
      record = Evaluation(
          step=step, epoch=step * self.batch_size / self.num_train,
          wall_time=time.time() - start_time, batch_loss=float(loss_sum) / count,
          batch_accuracy=int(correct) / (count * self.batch_size), train_loss=train_loss,
          train_accuracy=train_acc, test_loss=test_loss, test_accuracy=test_acc)
      self.history.append(record)
      stop_reason = self._stop_reason(record, bool(finite))
      if on_evaluation is not None:
        on_evaluation(record)
    step = int(self.step.numpy())
    return TrainResult(stop_reason=stop_reason, steps=step,
                       epochs=step * self.batch_size / self.num_train,
                       wall_time=time.time() - start_time, history=list(self.history))
