"""Trains one network (fully-connected, or a small CNN with --architecture=cnn) and writes a
run directory.

Usage:
  bin/train --dataset=fashion_mnist [--output_dir=runs/fashion_mnist] [--width=512 ...]
  bin/train --config=configs/train.py:quick [--config.depth=3] [--depth=4]
  sensitivity_tf-train --config=train:quick      # installed: the same, from any directory

Every knob of `sensitivity_tf.train.train_config` is a flag (`bin/train --helpfull`). Precedence,
lowest to highest: built-in defaults < the --config file (and its --config.<field>=...
overrides) < flags given on the command line. --config is a file, or a config's name
(`train`, from any directory; see sensitivity_tf.commands.config_files).

--dataset is a registered name, tfds:<name> (any TFDS image-classification dataset), or the
path of a Keras-layout .npz or a train/ test/ class-folder image tree (or its .tar.gz), of
any image shape and class count.

The run directory (default runs/<dataset>/<depth>x<width>_<nonlinearity>_s<seed>, followed by
_<field>=<value> for every other hyperparameter that differs from its default) holds the
trained model.keras, initial weights, config.json, metrics.json, history.csv and TensorBoard
logs (`tensorboard --logdir <output_dir>/tensorboard`). Rerunning the same command finishes
an interrupted run from its checkpoint, or does nothing if the run is finished; --overwrite
retrains from scratch. Prints one summary line at the end. Bad flags stop with a one-line
error and exit status 2.
"""

from __future__ import annotations

import os

from sensitivity_tf.commands import cli  # first: quiets TensorFlow before it loads
from absl import flags
from ml_collections import config_flags

from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.data import registry

cli.define_fields(train_config.FIELDS, string_fields=("batch_size",))
config_flags.DEFINE_config_file("config", None, "Config file, or the name of one in configs/ "
                                "(get_config()).", lock_config=False)
flags.DEFINE_string("output_dir", None, "Run directory (default: runs/<dataset>/<model>_s<seed>).")
flags.DEFINE_bool("overwrite", False, "Retrain even if output_dir holds a run.")
FLAGS = flags.FLAGS


def main(argv: list) -> None:
  if len(argv) > 1:
    cli.fail(f"unexpected arguments {argv[1:]}; all settings are --flags")
  cfg = train_config.merge(FLAGS.config, cli.explicit_flags(train_config.FIELDS))
  cli.check_directory_flag("output_dir", FLAGS.output_dir)
  output_dir = os.path.expanduser(FLAGS.output_dir or os.path.join(
      "runs", registry.short_name(cfg.dataset), train_config.default_run_name(cfg)))
  metrics = train_run.train(cfg, output_dir, overwrite=FLAGS.overwrite)
  print(f"{output_dir}: {train_run.summary_line(metrics)}")


def run() -> None:
  """The command line: ``bin/train``, or ``sensitivity_tf-train`` once installed."""
  cli.run(main, __doc__)
