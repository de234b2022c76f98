"""One training run from a configuration to a finished run directory, resumable.

`train` is what ``bin/train`` calls (and what the survey calls for each network):

* a finished run directory with the same configuration is returned as it is (no retraining);
* an unfinished one (killed or crashed) resumes from its last checkpoint and ends exactly
  where an uninterrupted run would have (the mini-batch order and the augmentation are
  functions of the seed and the step);
* a directory holding a run with a *different* configuration is refused, unless
  ``overwrite``;
* a directory another live process is training into is refused (`run_claim`: the claim is
  written before any work, so two processes started together cannot both train into it).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from typing import Optional

import keras
import tensorflow as tf

from sensitivity_tf import data
from sensitivity_tf.store import environment
from sensitivity_tf.networks import models
from sensitivity_tf.store import run_claim
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import training
from sensitivity_tf.store.run_dir import RunDirectory


class Progress:
  """A one-line progress display: rewritten in place on a terminal, a line per update
  otherwise."""

  def __init__(self, max_steps: int, stop_rule: str = "budget", stream=None):
    self.max_steps = max_steps
    self.label = "budget" if stop_rule == "budget" else "cap"
    self.stream = stream or sys.stderr
    self.tty = self.stream.isatty()

  def __call__(self, r: training.Evaluation) -> None:
    eta = r.wall_time / max(r.step, 1) * (self.max_steps - r.step)
    line = (f"step {r.step}/{self.max_steps} ({self.label}) epoch {r.epoch:.1f} | loss {r.batch_loss:.4f}"
            f" | train acc {r.train_accuracy:.4f} | test acc {r.test_accuracy:.4f} | "
            f"{r.wall_time:.0f}s, <= {eta:.0f}s left")
    self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
    self.stream.flush()

  def close(self) -> None:
    if self.tty:
      self.stream.write("\n")


def load_dataset(cfg) -> data.Dataset:
  return data.load(**train_config.data_options(cfg))


def build_model(cfg, dataset: data.Dataset) -> keras.Model:
  return models.build(cfg.architecture, dataset.image_shape, dataset.num_classes, cfg.depth,
                      cfg.width, cfg.nonlinearity, cfg.weight_scale, cfg.bias_scale, cfg.seed)


def _check_same_config(run: RunDirectory, cfg) -> None:
  old = run.config().get("config", {})
  old = {**train_config.ADDED_FIELDS, **old}
  if "stop_rule" not in old:
    raise run_dir_lib.RunDirError(
        f"{run.path} holds a run made under the old rule (stop at the first fit, no training "
        f"budget), which is never reused; delete that directory (or use --overwrite) to train "
        f"it under stop_rule={cfg.stop_rule}")
  new = train_config.identity(cfg)
  diff = [f"{k}: {old.get(k)!r} != {v!r}" for k, v in new.items() if old.get(k) != v]
  if diff:
    raise run_dir_lib.RunDirError(
        f"{run.path} holds a run with another configuration ({'; '.join(diff[:3])}); "
        "use another --output_dir or --overwrite")


def train(cfg, output_dir, overwrite: bool = False, dataset: Optional[data.Dataset] = None,
          log=print) -> dict:
  """Trains the network ``cfg`` describes into ``output_dir``; returns the metrics dict.

  ``dataset`` may be passed to skip loading (it must be what ``cfg`` describes).
  """
  return train_model(cfg, output_dir, overwrite, dataset, log)[0]


def train_model(cfg, output_dir, overwrite: bool = False,
                dataset: Optional[data.Dataset] = None, log=print):
  """Like `train`, and also returns the trained Keras model (None when the run directory
  already held a finished run, which is then not loaded)."""
  train_config.validate(cfg)
  run = RunDirectory(output_dir)
  created = run_dir_lib.missing_directories(run.path)
  claim = run_claim.acquire(run.path, log=log)  # before any work: one process per directory
  try:
    return _train_claimed(run, cfg, overwrite, dataset, log)
  finally:
    claim.release()
    run_dir_lib.remove_if_empty(created)  # a failed start leaves no empty folders


def _train_claimed(run: RunDirectory, cfg, overwrite: bool, dataset: Optional[data.Dataset],
                   log):
  if run.exists():
    if overwrite:
      run.clear(keep=(run_claim.CLAIM,))
    else:
      _check_same_config(run, cfg)
      if run.is_finished():
        log(f"{run.path}: already finished; nothing to do (use --overwrite to retrain)")
        return run.metrics(), None
  dataset = dataset or load_dataset(cfg)
  model = build_model(cfg, dataset)
  trainer = training.Trainer(model, dataset, cfg)
  if cfg.batch_size > trainer.batch_size:
    log(f"{run.path}: batch_size={cfg.batch_size} is more than the {trainer.num_train} training "
        f"examples: training full batch ({trainer.batch_size})")
  env = environment.describe()
  policy = trainer.augmentation_policy
  config_record = dict(
      config=dict(cfg), data=dataset.describe(),
      derived=dict(effective_batch_size=trainer.batch_size,
                   steps_per_epoch=trainer.steps_per_epoch, eval_every=trainer.eval_every,
                   num_weights=models.num_weights(model),
                   augmentation=policy.describe() if policy else None),
      **env)
  if not run.file(run_dir_lib.INITIAL_WEIGHTS).is_file():
    run.save_initial_weights(model)

  manager = tf.train.CheckpointManager(trainer.checkpoint(), run.file(run_dir_lib.CHECKPOINT),
                                       max_to_keep=1)
  elapsed_before = 0.0
  if manager.latest_checkpoint:
    try:
      manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    except Exception as e:  # a truncated or foreign checkpoint: IndexError, DataLossError, ...
      raise run_dir_lib.RunDirError(
          f"{manager.latest_checkpoint}: damaged checkpoint ({type(e).__name__}); resume is "
          "impossible: rerun with --overwrite to train from scratch") from None
    step = int(trainer.step.numpy())
    trainer.history = [r for r in run.history() if r.step <= step]
    elapsed_before = trainer.history[-1].wall_time if trainer.history else 0.0
    log(f"{run.path}: resuming from step {step}")
  if policy:
    log(f"{run.path}: augmentation for images {dataset.image_shape[0]} px high: "
        f"{policy.describe()}")
  run.write_config(config_record)

  writer = tf.summary.create_file_writer(str(run.file(run_dir_lib.TENSORBOARD)))
  progress = Progress(cfg.max_steps, cfg.stop_rule) if cfg.progress else None
  last_checkpoint = [time.time()]

  def on_evaluation(record: training.Evaluation) -> None:
    with writer.as_default(step=record.step):
      for field in dataclasses.fields(record):
        if field.name not in ("step",):
          tf.summary.scalar(field.name, getattr(record, field.name))
    writer.flush()
    if record.step in snapshots:  # before a checkpoint of this step, never after it
      run.save_snapshot(model, record.step)
    if time.time() - last_checkpoint[0] >= cfg.checkpoint_every_secs:
      run.write_history(trainer.history)  # history first: it may run ahead, never behind
      manager.save(checkpoint_number=record.step)
      last_checkpoint[0] = time.time()
    if progress:
      progress(record)

  snapshots = set(training.snapshot_steps(cfg))
  result = trainer.run(on_evaluation, elapsed_before=elapsed_before)
  if progress:
    progress.close()
  writer.close()

  final_start = time.time()
  train_loss, train_acc = trainer.evaluate(dataset.x_train, dataset.y_train)
  test_loss, test_acc = trainer.evaluate(dataset.x_test, dataset.y_test)
  # Wall time of training: the loop (with its evaluations) and these final metrics.
  wall_time = result.wall_time + time.time() - final_start
  fit = training.first_fit(trainer.history, trainer.target_accuracy)
  metrics = dict(
      status="diverged" if result.stop_reason == "diverged" else "ok",
      stop_reason=result.stop_reason, train_loss=train_loss, train_accuracy=train_acc,
      test_loss=test_loss, test_accuracy=test_acc, generalization_gap=train_acc - test_acc,
      num_weights=models.num_weights(model), steps=result.steps, epochs=result.epochs,
      wall_time_secs=wall_time, num_train=len(dataset.x_train),
      num_test=len(dataset.x_test), stop_rule=cfg.stop_rule,
      target_accuracy=trainer.target_accuracy,
      reached_target=bool(train_acc >= trainer.target_accuracy),
      **first_fit_metrics(fit))
  run.write_history(trainer.history)
  run.save_model(model)
  run.write_metrics(metrics)
  shutil.rmtree(run.file(run_dir_lib.CHECKPOINT), ignore_errors=True)
  return metrics, model


FIRST_FIT_FIELDS = ("first_fit_step", "first_fit_epoch", "first_fit_train_loss",
                    "first_fit_wall_secs")


def first_fit_metrics(fit: Optional[training.Evaluation]) -> dict:
  """Step, epoch, training loss and wall time (s) of the first evaluation at the target
  accuracy; None each when the network never got there."""
  if fit is None:
    return dict.fromkeys(FIRST_FIT_FIELDS)
  return dict(first_fit_step=fit.step, first_fit_epoch=fit.epoch,
              first_fit_train_loss=fit.train_loss, first_fit_wall_secs=fit.wall_time)


def summary_line(metrics: dict) -> str:
  first = metrics.get("first_fit_step")
  first = "never" if first is None else f"step {first}"
  return (f"stop: {metrics['stop_reason']} after {metrics['steps']} steps "
          f"({metrics['epochs']:.1f} epochs, {metrics['wall_time_secs']:.0f} s) | "
          f"first fit {first} | train acc {metrics['train_accuracy']:.4f} | test acc "
          f"{metrics['test_accuracy']:.4f} | gap {metrics['generalization_gap']:.4f} | {metrics['num_weights']} weights")
