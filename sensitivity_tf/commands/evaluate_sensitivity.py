"""Measures the sensitivity of trained networks: Jacobian norms and transitions.

Usage:
  bin/evaluate_sensitivity RUN_DIR [RUN_DIR ...] [--flags]
  bin/evaluate_sensitivity 'runs/fashion_mnist/*'          # a glob, expanded here too
  sensitivity_tf-evaluate_sensitivity RUN_DIR              # installed: the same command
  bin/evaluate_sensitivity --model=path/to/model.keras --dataset=DATASET --output_dir=DIR

For each finished run directory of bin/train, computes (see sensitivity_tf.metrics.evaluation):
per-point ‖J(x)‖_F, loss, prediction, correctness and confidence on the test set and on an
equal-size seeded training subset; ‖J‖ and transitions along --ellipses_per_kind ellipses of
each kind (random, different-class, same-class); per-test-point transitions for
--test_point_ellipses seeded test points. Writes <run>/sensitivity/{points,
trajectory_jacobian,trajectory_transitions}.parquet and summary.json, appends one row per
run to the --table directory (pandas.read_parquet(<table>) reads it), and prints a summary
line per run. A finished evaluation with the same settings is reused unless --force.

The data is the run's own (as recorded in its config.json); --data_dir reads it from
elsewhere, and data whose fingerprint differs from the one recorded at training time (another
dataset, another copy) is refused unless --allow_other_data. summary.json and the table
record the data source and fingerprint used.

With --model, any Keras classifier file (functional, Sequential; CNNs, BatchNorm, a final
softmax) is evaluated on --dataset (a registered name, tfds:<name>, or the path of a .npz or
class-folder tree; inputs are pixels/255, --standardize standardizes them: ‖J‖ is with
respect to the inputs as the model receives them), and the same tables and summary go to
<output_dir>/sensitivity/; the summary records the model file's SHA-256 and the data's
source and fingerprint. A bin/train run directory is refused as --output_dir (its
sensitivity/ is the run's own evaluation). An evaluation is reused only when the model file,
the data, its preprocessing and every setting are the same.

Bad paths or settings stop with a one-line error and exit status 2.
"""

from __future__ import annotations

import dataclasses
import pathlib

from sensitivity_tf.commands import cli  # first: quiets TensorFlow before it loads
from absl import flags

from sensitivity_tf import data
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.store import evaluations
from sensitivity_tf.store import run_dir

_DEFAULTS = evaluation.EvaluationSettings()
cli.define_fields({f.name: (f.default, f.metadata["help"])
                   for f in dataclasses.fields(_DEFAULTS)})
flags.DEFINE_bool("force", False, "Recompute even if a finished evaluation exists.")
flags.DEFINE_string("table", None, "Summary table directory (default: <parent of the first "
                    "run>/sensitivity_table).")
flags.DEFINE_string("data_dir", None, "Override the data location recorded in the run.")
flags.DEFINE_bool("allow_other_data", False, "Evaluate even on data whose fingerprint differs "
                  "from the one recorded when the run was trained.")
flags.DEFINE_string("model", None, "A .keras model file of any origin (instead of RUN_DIRs).")
flags.DEFINE_string("dataset", None, "With --model: the dataset to evaluate it on.")
flags.DEFINE_string("output_dir", None, "With --model: where the tables go (<dir>/sensitivity/).")
flags.DEFINE_bool("standardize", False, "With --model: standardize inputs with training-set "
                  "statistics, as the model was trained.")
FLAGS = flags.FLAGS


def evaluate_model_file(settings: evaluation.EvaluationSettings) -> None:
  if FLAGS.model is None or not FLAGS.dataset or not FLAGS.output_dir:
    cli.fail("--model, --dataset and --output_dir go together; usage: bin/evaluate_sensitivity "
             "--model=path/to/model.keras --dataset=DATASET --output_dir=DIR")
  cli.check_directory_flag("output_dir", FLAGS.output_dir)
  output_dir = pathlib.Path(FLAGS.output_dir).expanduser()  # '~/x' is the home's x
  if run_dir.RunDirectory(output_dir).exists():
    cli.fail(f"--output_dir={FLAGS.output_dir} is a bin/train run directory, whose "
             f"{evaluation.SUBDIR}/ is that run's own evaluation; allowed: another directory "
             f"(or evaluate the run itself: bin/evaluate_sensitivity {FLAGS.output_dir})")
  dataset = data.load(FLAGS.dataset, data_dir=FLAGS.data_dir, standardize=FLAGS.standardize)
  table = evaluations.summary_table(
      pathlib.Path(FLAGS.table).expanduser() if FLAGS.table else output_dir / "sensitivity_table")
  table.check_writable()  # before any work
  summary = evaluations.evaluate_model_file(FLAGS.model, dataset, output_dir, settings,
                                           force=FLAGS.force, table=table)
  print(f"{FLAGS.model}: {evaluation.summary_line(summary)}")
  print(f"tables: {output_dir / evaluation.SUBDIR}")


def main(argv: list) -> None:
  settings = evaluation.EvaluationSettings(
      **{f.name: FLAGS[f.name].value for f in dataclasses.fields(_DEFAULTS)}).validate()
  if FLAGS.model is not None or FLAGS.dataset or FLAGS.output_dir:
    if len(argv) > 1:
      cli.fail(f"unexpected arguments {argv[1:]} with --model; evaluate run directories or a "
               "model file, not both")
    return evaluate_model_file(settings)
  if len(argv) < 2:
    cli.fail("no run directory given; usage: bin/evaluate_sensitivity RUN_DIR [RUN_DIR ...]")
  runs = run_dir.find_run_dirs(argv[1:])
  for run in runs:
    run.check_finished()
  table = evaluations.summary_table(
      FLAGS.table or pathlib.Path(runs[0].path).resolve().parent / "sensitivity_table")
  table.check_writable()  # before any work
  for run in runs:
    summary = evaluations.evaluate_run(run, settings, force=FLAGS.force,
                                      data_dir=FLAGS.data_dir, table=table,
                                      allow_other_data=FLAGS.allow_other_data)
    print(f"{run.path}: {evaluation.summary_line(summary)}")
  print(f"table: {table.path} ({len(table.keys())} rows; pandas.read_parquet('{table.path}'))")


def run() -> None:
  """The command line: ``bin/evaluate_sensitivity``, or, once installed,
  ``sensitivity_tf-evaluate_sensitivity``."""
  cli.run(main, __doc__)
