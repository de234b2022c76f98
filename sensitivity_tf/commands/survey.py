"""Trains and measures many networks: a survey driven by keras-tuner.

Usage:
  bin/survey --config=configs/survey_default.py --preset=small [--dataset=mnist]
  bin/survey --config=configs/survey_pairs_random_labels.py --preset=tiny
  bin/survey --config=configs/survey_grid.py:paper --config.fixed.max_steps=50000
  sensitivity_tf-survey --config=survey_default --preset=tiny    # installed, any directory

--config is a study in configs/ (survey_default, survey_pairs_<factor>, survey_grid), by path
or by name (see sensitivity_tf.commands.config_files);
--preset (tiny | small | paper; quick = tiny) selects its size, as does --config=<file>:<preset>;
--config.<field>=... overrides any field of the study. Results go to --results_dir (default
results/<study>_<dataset>_<preset>): one Parquet row per network in <results_dir>/table
(pandas.read_parquet), the run directory of each network under <results_dir>/runs/.

--dry_run prints what the study needs (networks to train and evaluate, those already done)
and an estimate of the time from wall times recorded by earlier runs on this machine, and
trains nothing.

Progress (trials done / total, elapsed, ETA) goes to stderr; a summary (counts by status,
time shares, where the table is) is printed at the end. Running the same command again
resumes: rows already written are never redone, a killed network resumes from its
checkpoint, and trials whose row says "failed" are run again (--noretry_failed keeps them).

Exit status: 0 when every trial has a row and none failed (diverged networks are results);
1 with a last line "error: N of M trials failed ..." otherwise; 2 for bad flags, settings or
data (found before any training); 130 after Ctrl-C (the same command resumes).

Every core: --local_workers=N runs the trials in N worker processes on this machine
(keras-tuner's chief/worker mode on loopback, the cores divided between them; a worker that
dies is started again; killing the whole command loses nothing: run it again). Default: one
per core (at most 8) at the small and paper presets, 0 (this process) at tiny and in a
keras-tuner chief or worker. See docs/surveys.md.

Distributed (keras-tuner's chief/worker mode): start the same command once with
KERASTUNER_TUNER_ID=chief and once per worker with KERASTUNER_TUNER_ID=worker0, worker1, ...,
all with KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT pointing at the chief, and the same
--results_dir on storage every process can read and write (see README). A worker whose study
differs from the chief's is refused; a trial whose worker sent no heartbeat for
--reassign_after_secs is handed out again; a restarted chief resumes from the table.

Bad flags stop with a one-line error and exit status 2.
"""

from __future__ import annotations

import os
import sys

from sensitivity_tf.commands import cli  # first: quiets TensorFlow before it loads
from absl import flags
from ml_collections import config_flags

from sensitivity_tf.data import registry
from sensitivity_tf.data import sources
from sensitivity_tf.survey import driver
from sensitivity_tf.survey import execution
from sensitivity_tf.survey import study as study_lib

config_flags.DEFINE_config_file("config", None, "A study config in configs/ (survey_*.py).",
                                lock_config=False)
flags.DEFINE_string("preset", None, "tiny | small | paper (quick = tiny); overrides the "
                    "config's default preset.")
flags.DEFINE_string("dataset", None, "Dataset: " + registry.ALLOWED_NAMES + ".")
flags.DEFINE_string("data_dir", None, "Local copy of the data (see sensitivity_tf.data).")
flags.DEFINE_string("results_dir", None, "Where the table and run directories go "
                    "(default results/<study>_<dataset>_<preset>).")
flags.DEFINE_bool("progress", True, "Show progress.")
flags.DEFINE_bool("dry_run", False, "Print the networks and evaluations the study needs and "
                  "their estimated time (from runs recorded here); train nothing.")
flags.DEFINE_bool("retry_failed", True, "Rerun trials whose row says 'failed' (the default: "
                  "a failure is not a result; --noretry_failed keeps their rows).")
execution.define_flags("trial", "every trial has a row", "the chief")
FLAGS = flags.FLAGS


def main(argv: list) -> None:
  if len(argv) > 1:
    cli.fail(f"unexpected arguments {argv[1:]}; all settings are --flags")
  if FLAGS.config is None:
    cli.fail("--config is required, e.g. --config=configs/survey_default.py --preset=small")
  study = FLAGS.config
  if FLAGS.dataset:
    study.dataset = FLAGS.dataset
  if FLAGS.data_dir:
    study.data_dir = FLAGS.data_dir
  study = study_lib.validate(study)
  results_dir = FLAGS.results_dir or os.path.join(
      "results", f"{study['name']}_{study['dataset']}_{study['preset']}")
  cli.check_directory_flag("results_dir", FLAGS.results_dir)
  if study.get("data_dir"):  # as strict in a dry run as in the run itself
    sources.check_data_dir(study["data_dir"], study["dataset"])
  if FLAGS.dry_run:
    print(driver.dry_run_text(study, results_dir))
    return
  summary = driver.run_survey(
      study, results_dir, progress=FLAGS.progress, retry_failed=FLAGS.retry_failed,
      worker_grace_secs=FLAGS.worker_grace_secs, chief_timeout_secs=FLAGS.chief_timeout_secs,
      reassign_after_secs=FLAGS.reassign_after_secs, log=lambda m: print(m, file=sys.stderr),
      local_workers=execution.local_workers_count(FLAGS.local_workers, study["preset"]))
  print(f"{driver.role_text(summary)}: {driver.summary_text(summary)}")
  failure = driver.failure_message(summary)
  if failure:
    print(f"error: {failure}", file=sys.stderr)
    sys.exit(1)


def run() -> None:
  """The command line: ``bin/survey``, or ``sensitivity_tf-survey`` once installed."""
  cli.run(main, __doc__, presets=True)
