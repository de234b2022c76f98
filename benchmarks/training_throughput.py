"""Training throughput: our loop against a minimal hand-written tf.function loop.

Both train the same model (784 -> 512 x 2 -> 10 ReLU, Adam, batch 128) on the same real
Fashion-MNIST data in one process, interleaved and repeated; the medians are printed in
examples per second. Three measurements of ours:

* ``ours (steps)``: `Trainer`'s compiled multi-step call alone, over one epoch;
* ``ours (run)``: `Trainer.run` for one more epoch end to end, including the stopping rule's
  evaluation of the full training and test sets at the end of the epoch (the one-off
  tracing of a new run is printed separately);
* ``keras fit``: ``model.fit`` for reference.

The minimal loop is one ``tf.function`` train step called from Python per mini-batch.

Usage: python benchmarks/training_throughput.py [--repeats=5] [--dataset=fashion_mnist]
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sensitivity_tf.commands import cli  # noqa: E402  (quiet TensorFlow start-up)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sensitivity_tf import data  # noqa: E402
from sensitivity_tf.networks import models
from sensitivity_tf.train import training

flags.DEFINE_integer("repeats", 5, "Interleaved repetitions of each method.")
flags.DEFINE_string("dataset", "fashion_mnist", "Dataset.")
flags.DEFINE_string("data_dir", None, "Local data (see sensitivity_tf.data).")
flags.DEFINE_integer("width", 512, "Hidden width.")
flags.DEFINE_integer("depth", 2, "Hidden layers.")
flags.DEFINE_integer("batch_size", 128, "Mini-batch size.")
FLAGS = flags.FLAGS


def build(ds):
  return models.build_fc_network(ds.input_dim, ds.num_classes, FLAGS.depth, FLAGS.width, seed=0)


def minimal_loop(ds, steps_per_epoch):
  model = build(ds)
  opt = keras.optimizers.Adam(1e-3)
  loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  x_all, y_all = tf.constant(ds.x_train), tf.constant(ds.y_train)

  @tf.function
  def step(idx):
    x, y = tf.gather(x_all, idx), tf.gather(y_all, idx)
    with tf.GradientTape() as tape:
      loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  b = FLAGS.batch_size
  perm = np.random.default_rng(0).permutation(len(ds.x_train)).astype(np.int32)
  batches = [tf.constant(perm[i * b:(i + 1) * b]) for i in range(steps_per_epoch)]
  step(batches[0])  # trace

  def epoch():
    for idx in batches:
      loss = step(idx)
    loss.numpy()
  return epoch


def ours_steps(ds):
  trainer = training.Trainer(build(ds), ds, training.TrainSettings(batch_size=FLAGS.batch_size))
  idx = trainer.batch_indices(0, trainer.steps_per_epoch)
  trainer._steps_fn(idx[:2], tf.constant(0, tf.int64))  # trace

  def epoch():
    out = trainer._steps_fn(idx, tf.constant(0, tf.int64))
    out[0].numpy()
  return epoch, trainer.steps_per_epoch


def ours_run(ds, steps_per_epoch):
  """One more epoch of `Trainer.run` each call (traced once, like one long run)."""
  trainer = training.Trainer(build(ds), ds, training.TrainSettings(
      batch_size=FLAGS.batch_size, max_steps=steps_per_epoch))
  start = time.perf_counter()
  trainer.run()
  first = time.perf_counter() - start

  def epoch():
    trainer.settings.max_steps += steps_per_epoch
    trainer.run()
  return epoch, first


def keras_fit(ds):
  model = build(ds)
  model.compile(keras.optimizers.Adam(1e-3),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  model.fit(ds.x_train[:1024], ds.y_train[:1024], batch_size=FLAGS.batch_size, verbose=0)

  def epoch():
    model.fit(ds.x_train, ds.y_train, batch_size=FLAGS.batch_size, epochs=1, verbose=0,
              shuffle=True)
  return epoch


def main(_):
  ds = data.load(FLAGS.dataset, data_dir=FLAGS.data_dir)
  ours, spe = ours_steps(ds)
  run_epoch, first_run = ours_run(ds, spe)
  methods = {"minimal tf.function loop": minimal_loop(ds, spe), "ours (steps)": ours,
             "ours (run, with evaluations)": run_epoch, "keras fit": keras_fit(ds)}
  examples = {k: spe * FLAGS.batch_size for k in methods}
  examples["keras fit"] = len(ds.x_train)
  times = {k: [] for k in methods}
  for _ in range(FLAGS.repeats):
    for name, fn in methods.items():
      start = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - start)
  print(f"{FLAGS.dataset}: {FLAGS.depth}x{FLAGS.width} ReLU, Adam, batch {FLAGS.batch_size}, "
        f"{spe} steps/epoch, {FLAGS.repeats} interleaved repeats, median")
  base = examples["minimal tf.function loop"] / np.median(times["minimal tf.function loop"])
  print(f"{'method':32s} {'examples/s':>12s} {'x minimal':>10s}")
  for name in methods:
    rate = examples[name] / np.median(times[name])
    print(f"{name:32s} {rate:12,.0f} {rate / base:10.2f}")
  print(f"first epoch of a new run, tracing included: {first_run:.2f} s "
        f"(later epochs: {np.median(times['ours (run, with evaluations)']):.2f} s)")


if __name__ == "__main__":
  app.run(main)
