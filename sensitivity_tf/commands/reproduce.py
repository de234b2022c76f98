"""Reproduces the paper's figures and a claims report, experiment by experiment.

Usage:
  bin/reproduce --experiment=trajectories --dataset=mnist --preset=small
  bin/reproduce --experiment=all --preset=small --data_dir=DATA_DIR
  bin/reproduce --experiment=correlation --preset=tiny
  bin/reproduce --config=configs/reproduce_regions.py --preset=small --config.num_slices=24
  sensitivity_tf-reproduce --experiment=capacity --preset=tiny   # installed, any directory

Experiments (configs/reproduce_<name>.py): capacity (C1, C2), trajectories (C3, C4), regions
(C5), correlation (C6, C7, Kendall τ and Ψ), factors (C8-C11, C13), points (C12), and,
beyond the paper, measures (‖J‖ ranked among generalization measures, docs/measures.md).
Each runs what it is missing (surveys, networks, evaluations: all resumable, never redone),
then draws from the saved tables only, so running it again only re-analyses and redraws. --dataset
restricts an experiment to some of its datasets (comma-separated). --experiment=X reads
configs/reproduce_X.py (get_config(preset)); --config names one such file (or its name,
e.g. reproduce_regions) instead and takes --config.<field>=... overrides (a changed field
is a different set of networks). DATA_DIR: a local copy of the data (see the README).

--dry_run prints, before anything is trained, the networks and evaluations the chosen
experiments and preset need (growing surveys at their cap; what is done already counted) and an
estimate of the time from wall times recorded by earlier runs on this machine; it writes nothing.

Writes, under --results_dir (default results/reproduce/<preset>): figures/<experiment>*.png
and .pdf, claims.md and claims.json (every claim's statistic, n, verdict and rule), and the
surveys and networks behind them; --second_seed_dir names a results directory of the same
experiments under a second seed, whose differing verdicts the report marks borderline.
--docs_dir publishes the PNGs, claims.md, claims.json, every survey table and every analysis
table (the per-ellipse, per-anchor, per-slice and per-model tables behind C3, C4, C5, C12 and
the fidelity study's) as CSV there (a mirror: files of an earlier export that are no longer
produced are removed). --tensorboard_dir writes every survey table as a TensorBoard
HParams experiment (one run per network).

Every core: --local_workers=N runs every trial and single network in N worker processes on
this machine (as bin/survey; see docs/surveys.md). Default: one per core (at most 8) at the
small and paper presets (chosen by benchmarks/local_workers.py; docs/performance.md), 0 (this
process) at tiny and in a keras-tuner chief or worker.

Distributed (keras-tuner's chief/worker mode, as bin/survey): the same command once with
KERASTUNER_TUNER_ID=chief and once per worker (worker0, worker1, ...), all with
KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT pointing at the chief and the same --results_dir
on shared storage. The chief hands every survey trial and single network to the workers and
analyses and draws once they are done (see README).

Bad flags stop with a one-line error and exit status 2.
"""

from __future__ import annotations

import os
import sys

from sensitivity_tf.commands import cli  # first: quiets TensorFlow before it loads
from absl import flags
from ml_collections import config_flags

from sensitivity_tf.commands import config_files
from sensitivity_tf.data import sources
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.reproduce import export
from sensitivity_tf.reproduce import plan
from sensitivity_tf.reproduce.experiments import EXPERIMENTS
from sensitivity_tf.survey import execution

flags.DEFINE_string("experiment", None, "One of: " + ", ".join(EXPERIMENTS) + ", or all "
                    "(several: comma-separated).")
config_flags.DEFINE_config_file("config", None, "One experiment's config "
                                "(configs/reproduce_*.py), instead of --experiment.",
                                lock_config=False)
flags.DEFINE_string("preset", "small", "tiny | small | paper (quick = tiny).")
flags.DEFINE_string("dataset", None, "Restrict to these datasets (comma-separated).")
flags.DEFINE_string("data_dir", None, "Local data (directory or file; see sensitivity_tf.data).")
flags.DEFINE_string("results_dir", None, "Workspace (default results/reproduce/<preset>).")
flags.DEFINE_string("docs_dir", None, "Also publish the results here: PNG figures, claims.md, "
                    "claims.json and every survey table as CSV (reproduce/export.py).")
flags.DEFINE_string("tensorboard_dir", None, "Also write every survey table of the workspace "
                    "as TensorBoard HParams experiments there, <dir>/<dataset>/<study> "
                    "(sensitivity_tf/hparams_dashboard.py).")
flags.DEFINE_string("second_seed_dir", None, "A results directory of the same experiments "
                    "under a second seed (e.g. --config.seed=1): the report marks verdicts that "
                    "differ there as borderline (kept in this workspace for later reports).")
flags.DEFINE_bool("progress", True, "Show survey progress.")
flags.DEFINE_bool("dry_run", False, "Print the networks and evaluations the experiments need "
                  "and their estimated time (from runs recorded here); train nothing.")
execution.define_flags("job", "every job is done", "a (lost) chief")
FLAGS = flags.FLAGS


def main(argv: list) -> None:
  if len(argv) > 1:
    cli.fail(f"unexpected arguments {argv[1:]}; all settings are --flags")
  if FLAGS.config is not None:
    if FLAGS.experiment not in (None, FLAGS.config.experiment):
      cli.fail(f"--experiment={FLAGS.experiment} contradicts --config "
               f"(experiment={FLAGS.config.experiment!r}); give one of them")
    names, chosen = [FLAGS.config.experiment], {FLAGS.config.experiment: FLAGS.config}
  elif FLAGS.experiment is None:
    cli.fail(f"--experiment is required; allowed: {', '.join(EXPERIMENTS)}, all")
  else:
    names = list(EXPERIMENTS) if FLAGS.experiment == "all" else FLAGS.experiment.split(",")
    for name in names:
      if name not in EXPERIMENTS:
        cli.fail(f"experiment={name!r} is invalid; allowed: {', '.join(EXPERIMENTS)}, all")
    chosen = {name: config_files.load_config_file(config_files.path(f"reproduce_{name}"),
                                         FLAGS.preset) for name in names}
  configs = {}
  for name in names:
    cfg = chosen[name]
    if FLAGS.dataset:
      wanted = FLAGS.dataset.split(",")
      unknown = [d for d in wanted if d not in cfg.datasets]
      if unknown:
        cli.fail(f"dataset {unknown[0]!r} is not among {name}'s datasets at this preset; "
                 f"allowed: {', '.join(cfg.datasets)}")
      cfg.datasets = wanted
    reproduction.validate_config(cfg)
    configs[name] = cfg
  preset = configs[names[0]].preset
  root = FLAGS.results_dir or os.path.join("results", "reproduce", preset)
  cli.check_directory_flag("results_dir", FLAGS.results_dir)
  if FLAGS.data_dir:  # as strict in a dry run as in the run itself
    sources.check_data_dir(FLAGS.data_dir)
  if FLAGS.dry_run:
    print(plan.summary(configs, root, FLAGS.data_dir, search=["results"]))
    return

  if FLAGS.second_seed_dir:
    try:
      reproduction.record_second_seed(root, FLAGS.second_seed_dir)
    except ValueError as e:
      cli.fail(str(e))

  def report(out):
    for r in out["results"]:
      print(f"{out['experiment']}: {r.claim} {r.dataset}: {r.verdict} ({r.statistic})")
    print(f"{out['experiment']}: done in {out['wall_secs'] / 60:.1f} min")

  done = reproduction.reproduce(
      configs, root, data_dir=FLAGS.data_dir, progress=FLAGS.progress,
      log=lambda m: print(m, file=sys.stderr), on_experiment=report,
      chief_timeout_secs=FLAGS.chief_timeout_secs, worker_grace_secs=FLAGS.worker_grace_secs,
      reassign_after_secs=FLAGS.reassign_after_secs,
      local_workers=execution.local_workers_count(FLAGS.local_workers, preset))
  if done["role"] == "worker":
    print(f"worker: ran {done['jobs_run']} jobs; the chief analyses and draws")
    return
  ws = done["workspace"]
  if FLAGS.docs_dir:
    written = export.export(ws.root, FLAGS.docs_dir)
    print(f"published {len(written)} files to {FLAGS.docs_dir} (figures, claims.md, "
          "claims.json, tables/<dataset>/<study or analysis table>.csv)")
  if FLAGS.tensorboard_dir:
    from sensitivity_tf import hparams_dashboard
    written = hparams_dashboard.export_workspace(ws.root, FLAGS.tensorboard_dir)
    print(f"wrote {len(written)} surveys to {FLAGS.tensorboard_dir} for TensorBoard's HParams "
          f"dashboard (tensorboard --logdir {FLAGS.tensorboard_dir})")
  print(f"figures: {ws.root / 'figures'}; report: {ws.root / 'claims.md'}")


def run() -> None:
  """The command line: ``bin/reproduce``, or ``sensitivity_tf-reproduce`` once installed."""
  cli.run(main, __doc__, presets=True)
