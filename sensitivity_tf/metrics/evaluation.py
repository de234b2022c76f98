"""Sensitivity evaluation of one trained network: every number the paper needs from it.

`evaluate` computes, for a model and its dataset:

* per point, on the test set (or a seeded subset) and on an equal-size seeded subset of the
  training set (labels actually trained on): the Jacobian norm ‖J(x)‖_F and its log10,
  cross-entropy loss (nats), predicted class, correctness and softmax confidence p_max;
* along ``ellipses_per_kind`` ellipses of each kind (random, different-class, same-class):
  transitions per loop and per angle bin, and ‖J‖ at ``ellipse_jacobian_samples`` equally
  spaced angles (a multiple of 6, so the anchors are among them);
* per-test-point transitions [ours, docs/method.md §2]: for ``test_point_ellipses`` seeded test
  points, the transitions around the ellipse through the point and two other test points;

and a per-model summary (means and medians). **Units of ‖J‖** (`input_units`): per
model-input unit by default, i.e. per raw pixel in [0, 1] for a network trained on
unstandardized inputs and per standardized unit (one training std of the pixel) for one
trained on standardized inputs; ``jacobian_wrt="raw_pixels"`` gives it per raw pixel in
[0, 1] in both cases (J divided column-wise by the standardization scale). The summary's
``jacobian_unit`` says which. Class-anchored ellipses use the **true**
training labels [ours], also for networks trained on random labels.

The model may be any Keras classifier (`sensitivity_tf.metrics.jacobian` and
`sensitivity_tf.metrics.transitions` choose their route; loss and confidence use the logits the
norms are computed at, behind a final softmax if there is one).

This module only computes; `sensitivity_tf.store.evaluations` evaluates run directories and
model files and stores (and caches) the tables."""

from __future__ import annotations
import dataclasses
import hashlib
import json
import math
import time
from typing import Dict
import keras
import numpy as np
import pandas as pd
import pyarrow as pa
from sensitivity_tf.networks import classifier
from sensitivity_tf.metrics import input_units
from sensitivity_tf.metrics import jacobian
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.metrics import trajectories
from sensitivity_tf.metrics import transitions
from sensitivity_tf.data import Dataset


SUBDIR = run_dir_lib.SENSITIVITY


POINTS = run_dir_lib.POINTS


TRAJECTORY_JACOBIAN = run_dir_lib.TRAJECTORY_JACOBIAN


TRAJECTORY_TRANSITIONS = run_dir_lib.TRAJECTORY_TRANSITIONS


SUMMARY = run_dir_lib.SUMMARY


def check_sampling(num_samples: int, bins: int) -> None:
  """`transitions.check_sampling` as a settings error (ConfigError, one line), for every
  settings type that samples loops (evaluation, the measure battery)."""
  try:
    transitions.check_sampling(num_samples, bins)
  except ValueError as e:
    raise train_config.ConfigError(str(e)) from None


def _setting(default, help_text: str):
  return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
  """Everything an evaluation depends on besides the model and the data. Each field carries
  its help (the flag's help of ``bin/evaluate_sensitivity``)."""

  variant: str = _setting("softmax", "Jacobian of the softmax output (paper) or of the "
                          "logits.")
  num_projections: int = _setting(0, "0 = exact norm; n > 0 = random-projection estimate "
                                  "with n draws.")
  jacobian_batch_size: int = _setting(0, "Points per compiled Jacobian call (0 = automatic, "
                                      "see jacobian.JacobianNorm).")
  test_points: int = _setting(0, "Test points to evaluate (0 = the whole test set).")
  train_points: int = _setting(-1, "Training points (-1 = as many as test points, 0 = none).")
  point_seed: int = _setting(0, "Seed of the test/train point subsets.")
  num_samples: int = _setting(transitions.DEFAULT_SAMPLES, "k: samples per closed loop "
                              "(multiple of 6 and of --bins).")
  bins: int = _setting(transitions.DEFAULT_BINS, "B: angle bins of the transition density.")
  ellipses_per_kind: int = _setting(8, "N: ellipses of each kind (random, different-class, "
                                    "same-class); 0 = none (points only).")
  ellipse_jacobian_samples: int = _setting(192, "Jacobian samples per ellipse (multiple of "
                                           "6).")
  trajectory_seed: int = _setting(0, "Seed of the ellipses' anchors.")
  test_point_ellipses: int = _setting(100, "Test points with their own ellipse (per-point "
                                      "transitions).")
  test_point_seed: int = _setting(0, "Seed of those test points and their ellipses.")
  jacobian_wrt: str = _setting("model_input", "‖J‖ per model-input unit (model_input) or per "
                               "raw pixel in [0, 1] (raw_pixels: J divided column-wise by the "
                               "standardization scale; the same for unstandardized inputs).")

  def validate(self) -> "EvaluationSettings":
    def check(ok, name, allowed):
      if not ok:
        raise train_config.ConfigError(
            f"{name}={getattr(self, name)!r} is invalid; allowed: {allowed}")
    check(self.variant in jacobian.VARIANTS, "variant", ", ".join(jacobian.VARIANTS))
    check(self.jacobian_wrt in input_units.WRT, "jacobian_wrt", ", ".join(input_units.WRT))
    for name in ("num_projections", "test_points", "point_seed", "ellipses_per_kind",
                 "trajectory_seed", "test_point_ellipses", "test_point_seed"):
      check(getattr(self, name) >= 0, name, "an integer >= 0")
    check(self.train_points >= -1, "train_points", "-1 (as many as test points), 0 or more")
    check(self.jacobian_batch_size >= 0, "jacobian_batch_size", "0 (automatic) or more")
    check(self.ellipse_jacobian_samples >= 6 and self.ellipse_jacobian_samples % 6 == 0,
          "ellipse_jacobian_samples", "a positive multiple of 6")
    check_sampling(self.num_samples, self.bins)
    return self

  @property
  def settings_id(self) -> str:
    fields = dataclasses.asdict(self)
    if fields["jacobian_wrt"] == "model_input":  # added later: old ids stay valid
      del fields["jacobian_wrt"]
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]

  def describe(self) -> dict:
    return dict(dataclasses.asdict(self), settings_id=self.settings_id,
                jacobian_dtype="float32 network, float64 softmax contraction",
                transitions_dtype="float32")


def _choose(n: int, count: int, seed: int, salt: int) -> np.ndarray:
  if count <= 0 or count >= n:
    return np.arange(n)
  return np.sort(np.random.default_rng([seed, salt]).choice(n, size=count, replace=False))


def _pointwise(model: keras.Model, norms: jacobian.JacobianNorm, x: np.ndarray, y: np.ndarray,
               split: str, indices: np.ndarray) -> pd.DataFrame:
  logits = norms.logits_of(x).astype(np.float64)
  log_p = logits - logits.max(1, keepdims=True)
  log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
  # Non-finite logits (NaN weights) predict nothing: -1, never argmax's class 0.
  predicted = np.where(np.isfinite(logits).all(1), logits.argmax(1), -1).astype(np.int64)
  j = norms(x)
  return pd.DataFrame(dict(
      split=split, index=indices.astype(np.int64), label=y.astype(np.int64),
      predicted=predicted, correct=predicted == y,
      loss=-log_p[np.arange(len(y)), y], confidence=np.exp(log_p.max(1)),
      jacobian_norm=j.norms, log10_jacobian_norm=j.log10_norms,
      jacobian_underflow=(j.norms == 0) & np.isfinite(j.log10_norms)))


TRAJECTORY_JACOBIAN_COLUMNS = dict(kind=object, ellipse=np.int64, phi=np.float64,
                                   jacobian_norm=np.float64, log10_jacobian_norm=np.float64,
                                   is_anchor=bool)
TRAJECTORY_TRANSITIONS_COLUMNS = dict(kind=object, ellipse=np.int64, bin=np.int64,
                                      phi_start=np.float64, phi_end=np.float64,
                                      transitions=np.float64, density=np.float64,
                                      loop_transitions=np.int64)


def evaluate(model: keras.Model, dataset: Dataset, settings: EvaluationSettings):
  """(points, trajectory_jacobian, trajectory_transitions, summary) for one model."""
  s = settings.validate()
  start = time.time()
  norms = input_units.norms_for(model, dataset.scale, s.jacobian_wrt, variant=s.variant,
                                batch_size=s.jacobian_batch_size or None,
                                num_projections=s.num_projections or None,
                                seed=s.point_seed)
  test_idx = _choose(len(dataset.x_test), s.test_points, s.point_seed, 1)
  frames = [_pointwise(model, norms, dataset.x_test[test_idx], dataset.y_test[test_idx],
                       "test", test_idx)]
  train_count = len(test_idx) if s.train_points == -1 else s.train_points
  if train_count:
    train_idx = _choose(len(dataset.x_train), train_count, s.point_seed, 2)
    frames.append(_pointwise(model, norms, dataset.x_train[train_idx],
                             dataset.y_train[train_idx], "train", train_idx))
  points = pd.concat(frames, ignore_index=True)

  counter = transitions.TransitionCounter(model, num_samples=s.num_samples, bins=s.bins)
  # Per-test-point transitions.
  points["test_point_transitions"] = np.nan
  if s.test_point_ellipses:
    # Among the evaluated test points, so that each count lands on a row of the table.
    chosen = test_idx[_choose(len(test_idx), s.test_point_ellipses, s.test_point_seed, 3)]
    ellipses = trajectories.ellipses_through_test_points(dataset.x_test, chosen,
                                                         s.test_point_seed)
    counts = counter.along(ellipses).counts
    where = {int(i): c for i, c in zip(chosen, counts)}
    is_test = points["split"] == "test"
    points.loc[is_test, "test_point_transitions"] = points.loc[is_test, "index"].map(
        where).astype(float)

  # Trajectories of the three kinds.
  jac_rows, trans_rows = [], []
  phis = trajectories.sample_angles(s.ellipse_jacobian_samples)
  bin_edges = 2 * math.pi * np.arange(s.bins + 1) / s.bins
  for kind in trajectories.KINDS:
    ellipses = trajectories.make_ellipses(
        kind, s.ellipses_per_kind, s.trajectory_seed, x_train=dataset.x_train,
        y_train=dataset.y_train_true, feature_mean=dataset.feature_mean,
        feature_std=dataset.feature_std, input_low=dataset.input_low,
        input_high=dataset.input_high)
    if not ellipses:
      continue
    t = counter.along(ellipses)
    x = np.concatenate([e.at(phis) for e in ellipses])
    j = norms(x)
    m = len(phis)
    for e_i in range(len(ellipses)):
      jac_rows.append(pd.DataFrame(dict(
          kind=kind, ellipse=e_i, phi=phis, jacobian_norm=j.norms[e_i * m:(e_i + 1) * m],
          log10_jacobian_norm=j.log10_norms[e_i * m:(e_i + 1) * m],
          is_anchor=np.isin(np.arange(m), [m // 6, m // 2, 5 * m // 6]))))
      trans_rows.append(pd.DataFrame(dict(
          kind=kind, ellipse=e_i, bin=np.arange(s.bins), phi_start=bin_edges[:-1],
          phi_end=bin_edges[1:], transitions=t.bin_counts[e_i], density=t.densities[e_i],
          loop_transitions=int(t.counts[e_i]))))
  # No ellipses (ellipses_per_kind=0): empty tables with their columns.
  traj_j = pd.concat(jac_rows, ignore_index=True) if jac_rows else pd.DataFrame(
      {c: pd.Series(dtype=t) for c, t in TRAJECTORY_JACOBIAN_COLUMNS.items()})
  traj_t = pd.concat(trans_rows, ignore_index=True) if trans_rows else pd.DataFrame(
      {c: pd.Series(dtype=t) for c, t in TRAJECTORY_TRANSITIONS_COLUMNS.items()})
  if not all(np.isfinite(w).all() for w in model.get_weights()):
    # A diverged network: its activation codes are meaningless (NaN compares false, so the
    # count would say 0 transitions beside a NaN ‖J‖): no count at all.
    for column in ("transitions", "density", "loop_transitions"):
      traj_t[column] = np.nan
    points["test_point_transitions"] = np.nan
  for frame in (points, traj_j, traj_t):
    frame["settings_id"] = s.settings_id

  summary = _summarize(points, traj_j, traj_t, s)
  summary["piecewise_linear"] = counter.settings["piecewise_linear"]
  summary["transition_code"] = counter.settings["code"]
  summary["jacobian_route"] = norms.route
  summary["jacobian_unit"] = input_units.unit(bool(dataset.options.get("standardize")),
                                              s.jacobian_wrt)
  # A simple baseline measure (Jiang et al. 2020): the Frobenius norm of all parameters.
  summary["weight_norm"] = float(np.sqrt(sum(float(np.sum(np.square(w)))
                                             for w in model.get_weights())))
  summary["eval_wall_time_secs"] = time.time() - start
  return points, traj_j, traj_t, summary


def _summarize(points, traj_j, traj_t, s: EvaluationSettings) -> Dict:
  test = points[points.split == "test"]
  train = points[points.split == "train"]
  out = dict(
      settings_id=s.settings_id, num_test_points=len(test), num_train_points=len(train),
      jacobian_test_mean=float(test.jacobian_norm.mean()),
      jacobian_test_median=float(test.jacobian_norm.median()),
      jacobian_test_log10_mean=float(test.log10_jacobian_norm.mean()),
      jacobian_train_mean=float(train.jacobian_norm.mean()) if len(train) else math.nan,
      jacobian_train_median=float(train.jacobian_norm.median()) if len(train) else math.nan,
      jacobian_underflow_count=int(points.jacobian_underflow.sum()),
      test_loss_mean=float(test.loss.mean()),
      # NaN, not the share of class-0 labels, when some logits are not finite.
      test_accuracy_evaluated=(float(test.correct.mean()) if (test.predicted >= 0).all()
                               else math.nan),
      test_confidence_mean=float(test.confidence.mean()),
      test_point_transitions_mean=float(test.test_point_transitions.mean()),
      test_point_transitions_count=int(test.test_point_transitions.notna().sum()))
  for kind in trajectories.KINDS:
    j = traj_j[traj_j.kind == kind]
    loops = traj_t[traj_t.kind == kind].groupby("ellipse").loop_transitions.first()
    out[f"jacobian_{kind}_mean"] = float(j.jacobian_norm.mean())
    out[f"jacobian_{kind}_anchor_mean"] = float(j[j.is_anchor].jacobian_norm.mean())
    out[f"transitions_{kind}_mean"] = float(loops.mean())
    out[f"transition_density_{kind}_mean"] = float(loops.mean() / (2 * math.pi))
  return out


SUMMARY_METRICS = [
    ("jacobian_test_mean", pa.float64()), ("jacobian_test_median", pa.float64()),
    ("jacobian_test_log10_mean", pa.float64()), ("jacobian_train_mean", pa.float64()),
    ("jacobian_train_median", pa.float64()), ("jacobian_underflow_count", pa.int64()),
    ("test_loss_mean", pa.float64()), ("test_accuracy_evaluated", pa.float64()),
    ("test_confidence_mean", pa.float64()), ("test_point_transitions_mean", pa.float64()),
    ("test_point_transitions_count", pa.int64()), ("weight_norm", pa.float64()),
] + [(f"{q}_{k}_{s}", pa.float64()) for k in trajectories.KINDS
     for q, s in (("jacobian", "mean"), ("jacobian", "anchor_mean"), ("transitions", "mean"),
                  ("transition_density", "mean"))]


SUMMARY_SCHEMA = pa.schema(
    [("run_dir", pa.string()), ("dataset", pa.string()), ("settings_id", pa.string()),
     ("settings", pa.string()), ("piecewise_linear", pa.bool_()),
     ("jacobian_route", pa.string()), ("eval_wall_time_secs", pa.float64()),
     ("train_accuracy", pa.float64()), ("test_accuracy", pa.float64()),
     ("generalization_gap", pa.float64()), ("num_weights", pa.int64()),
     ("stop_reason", pa.string()), ("data_source", pa.string()),
     ("data_fingerprint", pa.string())] + SUMMARY_METRICS)


def check_evaluable(where: str, model: keras.Model, dataset: Dataset,
                    settings: EvaluationSettings) -> None:
  """RunDirError (one line, before any work) for a model (of run directory or file
  ``where``) these settings cannot evaluate: a depth-0 Dense stack (no hidden neurons, so no
  transitions; other models without a nonlinearity are refused by the transition counter),
  or a training set too small for the class-anchored ellipses (three points of one class;
  three classes)."""
  stack = classifier.fc_stack(model)
  if stack is not None and stack.depth == 0:
    raise run_dir_lib.RunDirError(
        f"{where}: a network of depth 0 has no hidden neurons, so no transitions to count; "
        "the sensitivity evaluation needs depth >= 1")
  if settings.ellipses_per_kind:
    counts = np.bincount(dataset.y_train_true)
    if counts.max(initial=0) < 3 or np.count_nonzero(counts) < 3:
      raise run_dir_lib.RunDirError(
          f"{where}: trained on {len(dataset.y_train_true)} examples with at most "
          f"{counts.max(initial=0)} of a class in {np.count_nonzero(counts)} classes; the "
          "same-class and different-class ellipses need 3 points of one class and 3 classes")


def summary_line(summary: dict) -> str:
  def num(name: str, spec: str) -> str:  # a cached summary holds null for non-finite numbers
    value = summary.get(name)
    return "nan" if value is None else format(value, spec)
  kinds = " / ".join(num(f"transitions_{k}_mean", ".1f") for k in trajectories.KINDS)
  note = ("" if summary.get("piecewise_linear", True)
          else " (smooth units: sign changes, not regions)")
  under = summary["jacobian_underflow_count"]
  return (f"‖J‖ test mean {num('jacobian_test_mean', '.3e')} (median "
          f"{num('jacobian_test_median', '.3e')}), train mean "
          f"{num('jacobian_train_mean', '.3e')}{f', {under} underflowed to 0' if under else ''}"
          f" | transitions per loop random / different-class / same-class {kinds}{note}, "
          f"through test points {num('test_point_transitions_mean', '.1f')}"
          + (f" | gap {num('generalization_gap', '.4f')}" if "generalization_gap" in summary
             else f" | test accuracy {num('test_accuracy_evaluated', '.4f')}")
          + (" | cached" if summary.get("cached") else ""))
