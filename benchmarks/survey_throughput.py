"""Survey throughput: networks per hour for the small preset, and where the time goes.

Runs the first --num_models networks of the default study at the small preset (1,000
Fashion-MNIST training examples, the reduced space, the small evaluation) into a temporary
results directory, through the same keras-tuner driver as bin/survey, and prints networks
per hour and the shares of wall time spent in training (the loop, its evaluations and the
final metrics), in the sensitivity evaluation, and in everything else (the overhead: model
building and saving, tables, keras-tuner bookkeeping, clearing the session). Goal: overhead
under 5% of wall time.

Usage: python benchmarks/survey_throughput.py [--num_models=24] [--dataset=fashion_mnist]
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sensitivity_tf.commands import cli  # noqa: E402  (quiet TensorFlow start-up)
from sensitivity_tf.commands import config_files
import pandas as pd  # noqa: E402
from absl import app, flags  # noqa: E402

from sensitivity_tf.survey import driver  # noqa: E402

common = config_files.load_config_module(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                             "configs", "_common.py"))

flags.DEFINE_integer("num_models", 24, "Networks to train.")
flags.DEFINE_string("dataset", "fashion_mnist", "Dataset.")
FLAGS = flags.FLAGS


def main(_):
  s = common.default_survey("small")
  s.update(dataset=FLAGS.dataset, num_models=FLAGS.num_models)
  with tempfile.TemporaryDirectory() as d:
    start = time.time()
    summary = driver.run_survey(s, d, progress=False, log=lambda *_: None)
    elapsed = time.time() - start
    frame = pd.read_parquet(os.path.join(d, "table"))
  n = summary["num_rows"]
  train, evaluate = frame.train_wall_secs.sum(), frame.eval_wall_secs.sum()
  print(f"small preset, {FLAGS.dataset}, {n} networks ({summary['status_counts']}) in "
        f"{elapsed / 60:.1f} min: {n / elapsed * 3600:.0f} networks/hour")
  print(f"time: training {summary['train_share']:.1%}, evaluation {summary['eval_share']:.1%}, "
        f"overhead {summary['overhead_share']:.1%} of the trials' own wall time (goal < 5%)")
  print(f"end to end, the survey's set-up (data loading, keras-tuner) "
        f"included: training {train / elapsed:.1%}, evaluation {evaluate / elapsed:.1%}, "
        f"overhead {(elapsed - train - evaluate) / elapsed:.1%}")


if __name__ == "__main__":
  app.run(main)
