"""A whole survey, as ``bin/survey`` runs it: the study in this process's role.

`run_survey` prepares the study once (`study.prepare`: validated, trials built), then either
serves as a keras-tuner worker (`execution.work`) or runs it with this process's executor
(`execution.open_executor`: in this process, as a chief, or as a chief with local worker
processes) through `execution.run_study`, the one function that runs a study for
``bin/survey`` and ``bin/reproduce`` alike. The study's trials are a pure function of its
config; rows already in ``<results_dir>/table`` are never redone, so running the same command
again after a crash or ``kill -9`` (of any process) finishes the survey with every row exactly
once and no finished network retrained (a network killed mid-training resumes from its
checkpoint).

Results directory layout::

    <results_dir>/study.json        the study as run (config, evaluation settings, trial count);
                                    another study is refused (the same one grown is not)
    <results_dir>/table/            one Parquet row per network: pandas.read_parquet(...)
    <results_dir>/runs/<key>/       the run directory of each network (bin/train layout)
    <results_dir>/chief.json        chief/workers: which worker holds which trial (for a
                                    restarted chief)
    <results_dir>/local_workers/    --local_workers: each worker's log
"""

from __future__ import annotations

import pathlib
import time
from typing import Any, Callable, Dict, Optional

from sensitivity_tf.survey import cost
from sensitivity_tf.survey import execution
from sensitivity_tf.survey import results
from sensitivity_tf.survey import study as study_lib
from sensitivity_tf.survey import tuner as tuner_lib


def study_identity(study: Dict[str, Any]) -> str:
  """What chief and workers of one survey must agree on: the study (not where each
  machine keeps its data)."""
  described = {k: v for k, v in study_lib.describe(study).items() if k != "data_dir"}
  label = f"survey {study['name']} on {study['dataset']} (preset {study.get('preset')})"
  return tuner_lib.identity(label, dict(kind="survey", study=described))


def dry_run_text(study, results_dir) -> str:
  """What ``run_survey`` would do, without training or writing anything (`cost`)."""
  study = study_lib.validate(study)
  results_dir = pathlib.Path(results_dir)
  need = cost.study_need(study, results_dir)
  recorded = cost.Recorded.find([results_dir, "results"])
  return (f"dry run: {study['name']} ({study['design']}, {study['dataset']}, preset "
          f"{study.get('preset')}) in {results_dir}\n" + cost.summary([need], recorded))


def run_survey(study, results_dir, progress: bool = True, retry_failed: bool = True,
               worker_grace_secs: float = 30.0, chief_timeout_secs: float = 300.0,
               reassign_after_secs: float = tuner_lib.REASSIGN_AFTER_SECS,
               log: Callable[[str], None] = print, local_workers: int = 0) -> Dict[str, Any]:
  """Runs (or finishes) ``study`` into ``results_dir`` in this process's role (a worker, a
  chief, a chief with ``local_workers`` worker processes, or one process); returns the
  end-of-survey summary (`execution.summarize`)."""
  prepared = study_lib.prepare(study)
  results_dir = pathlib.Path(results_dir).expanduser()
  identity = study_identity(prepared.config)
  data_dir = prepared.config.get("data_dir", "")
  if execution.is_worker():
    start = time.time()
    table = results.table(results_dir)
    meter = execution.Progress(prepared.keys, table.has, enabled=progress)
    execution.work(results_dir, identity, data_dir, chief_timeout_secs,
                   on_trial_done=meter.trial_done)
    return execution.summarize(prepared.keys, table, time.time() - start, "worker")
  with execution.open_executor(results_dir, identity, local_workers, data_dir, log,
                               reassign_after_secs, worker_grace_secs,
                               chief_timeout_secs) as executor:
    summary = execution.run_study(executor, prepared, results_dir, progress, retry_failed, log)
  return dict(summary, local_workers=local_workers)


def failure_message(summary: Dict[str, Any]) -> Optional[str]:
  """None if the survey succeeded: every trial has a row and none says ``failed`` (diverged
  networks are results). Otherwise one line saying what failed and how to finish."""
  failed = summary["status_counts"].get("failed", 0)
  if failed:
    first = f" (first: {summary['first_failure']})" if summary.get("first_failure") else ""
    return (f"{failed} of {summary['num_trials']} trials failed{first}; fix the cause and run "
            "the same command again: failed trials are retried (their errors are in "
            "<results_dir>/runs/<key>/error.txt)")
  if summary["missing"] and summary["role"] != "worker":
    return (f"{summary['missing']} of {summary['num_trials']} trials have no row yet; run the "
            "same command again to finish them")
  return None


def role_text(summary: Dict[str, Any]) -> str:
  """Who ran the survey, for its last line: single, chief, worker, or the local workers."""
  if summary["role"] == "local":
    return f"chief of {summary['local_workers']} local workers"
  return summary["role"]


def summary_text(summary: Dict[str, Any]) -> str:
  counts = ", ".join(f"{v} {k}" for k, v in sorted(summary["status_counts"].items())) or "none"
  text = (f"{summary['num_rows']}/{summary['num_trials']} networks in the table ({counts}); "
          f"{summary['elapsed_secs'] / 60:.1f} min; table: {summary['table']} "
          f"(pandas.read_parquet)")
  if "train_share" in summary:
    text += (f"; time: training {summary['train_share']:.0%}, evaluation "
             f"{summary['eval_share']:.0%}, overhead {summary['overhead_share']:.1%}")
  if summary["missing"]:
    text += f"; {summary['missing']} not done yet (run the same command again)"
  return text
