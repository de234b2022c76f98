"""Overhead of `sensitivity_tf.callbacks.SensitivityCallback` in a plain ``model.fit``.

A 784-256-256-10 ReLU network trained with Adam (batch 128) on a 5,000-example subset of
Fashion-MNIST, ``--epochs`` epochs per fit, three ways, interleaved ``--repeats`` times
(medians): without the callback; with it measuring ‖J‖ on a 256-point probe set after every
epoch; the same plus transitions on 8 ellipses (768 samples each). Each fit starts from the
same initial weights.

Usage:  .venv/bin/python benchmarks/callback_overhead.py [--repeats=5] [--epochs=5]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from sensitivity_tf import api  # noqa: E402
from sensitivity_tf import data  # noqa: E402
from sensitivity_tf.callbacks import SensitivityCallback  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--epochs", type=int, default=5)
  args = parser.parse_args()
  ds = data.load("fashion_mnist", train_subset=5000)
  x, y = ds.x_train, ds.y_train
  keras.utils.set_random_seed(0)
  model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                            keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
  model.compile(optimizer="adam",
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  initial = model.get_weights()
  loops = api.ellipses(x, y, kind="different_class", count=8)
  variants = {
      "no callback": lambda: [],
      "‖J‖ every epoch": lambda: [SensitivityCallback(ds.x_test[:256])],
      "‖J‖ + transitions every epoch": lambda: [SensitivityCallback(
          ds.x_test[:256], transitions_loops=loops, num_samples=768)],
  }
  times = {name: [] for name in variants}
  for _ in range(args.repeats + 1):  # the first round warms up (tracing) and is dropped
    for name, callbacks in variants.items():
      model.set_weights(initial)
      model.optimizer = keras.optimizers.Adam()
      model.compile(optimizer=model.optimizer,
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
      start = time.perf_counter()
      model.fit(x, y, epochs=args.epochs, batch_size=128, verbose=0, callbacks=callbacks())
      times[name].append(time.perf_counter() - start)
  base = statistics.median(times["no callback"][1:])
  for name, t in times.items():
    median = statistics.median(t[1:])
    print(f"{name:32s} {median / args.epochs:.3f} s/epoch  overhead "
          f"{100 * (median / base - 1):+.1f}%")


if __name__ == "__main__":
  main()
