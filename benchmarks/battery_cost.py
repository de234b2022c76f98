"""Cost of the measure battery against the cost of training the network it measures.

Trains one network of the small preset's space (Fashion-MNIST, 1,000-example subset, the
small budget of 3,000 steps; ``--depth``, ``--width``, ``--batch_size``) into a temporary run
directory, then computes its battery with the small preset's settings
(configs/_common.py BATTERY["small"]) and prints both wall times, and the battery's per
family.

Usage:  .venv/bin/python benchmarks/battery_cost.py [--depth=4 --width=512 --batch_size=32]
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sensitivity_tf.commands import config_files  # noqa: E402
from sensitivity_tf.measures import battery  # noqa: E402
from sensitivity_tf.train import train_config  # noqa: E402
from sensitivity_tf.train import train_run  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--depth", type=int, default=4)
  parser.add_argument("--width", type=int, default=512)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--max_steps", type=int, default=3000)
  args = parser.parse_args()
  common = config_files.common()
  cfg = train_config.default_config()
  cfg.update(dict(common.TRAINING["small"], dataset="fashion_mnist", depth=args.depth,
                  width=args.width, batch_size=args.batch_size, max_steps=args.max_steps,
                  optimizer="adam", learning_rate=1e-3))
  with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    metrics = train_run.train(cfg, out, log=lambda m: None)
    train_secs = time.perf_counter() - start
    record = battery.for_run(out, battery.BatterySettings(**common.BATTERY["small"]))
  print(f"network {args.depth}x{args.width}, batch {args.batch_size}, {args.max_steps} steps: "
        f"train accuracy {metrics['train_accuracy']:.3f}")
  print(f"training {train_secs:.1f} s; battery {record['total_secs']:.1f} s "
        f"({record['total_secs'] / train_secs:.2f}x): " + ", ".join(
            f"{k} {v:.1f} s" for k, v in record["secs"].items()))


if __name__ == "__main__":
  main()
