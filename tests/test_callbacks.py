"""The sensitivity callback in a real model.fit, and the HParams export read back by
TensorBoard's own event reader."""

import math
import pathlib
import re

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from conftest import REPO
from sensitivity_tf import api
from sensitivity_tf import hparams_dashboard
from sensitivity_tf.callbacks import SensitivityCallback


class _Snapshots(keras.callbacks.Callback):
  """The model's weights at the end of every epoch."""

  def __init__(self):
    super().__init__()
    self.weights = []

  def on_epoch_end(self, epoch, logs=None):
    self.weights.append(self.model.get_weights())


def _tiny_model():
  model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(3)])
  model.compile(optimizer=keras.optimizers.Adam(0.05),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  return model


def _scalars(log_dir):
  acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
  acc.Reload()
  return {tag: {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}
          for tag in acc.Tags()["tensors"] if not tag.startswith("_hparams_")}, acc


class CallbackTest(tf.test.TestCase):

  def test_logged_values_equal_the_api_on_the_same_weights(self):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(90, 12)).astype("float32")
    y = (x[:, :3].argmax(1)).astype("int64")
    probe = x[:20]
    loops = api.ellipses(x, y, kind="same_class", count=2)
    log_dir = self.get_temp_dir() + "/tb"
    model = _tiny_model()
    callback = SensitivityCallback(probe, every_n_epochs=2, quantiles=(0.1, 0.9),
                                   transitions_loops=loops, num_samples=96, bins=16,
                                   log_dir=log_dir)
    snapshots = _Snapshots()
    history = model.fit(x, y, epochs=5, batch_size=30, verbose=0,
                        callbacks=[callback, snapshots])
    logged = history.history
    self.assertLen(logged["jacobian_norm_mean"], 5)
    measured = [1, 3, 4]  # epochs 2 and 4, and the last (5th); 0-based
    for epoch in range(5):
      if epoch not in measured:
        self.assertTrue(math.isnan(logged["jacobian_norm_mean"][epoch]))
        continue
      model.set_weights(snapshots.weights[epoch])
      norms = api.jacobian_norms(model, probe, route="gradient_tape").norms
      self.assertAllClose(logged["jacobian_norm_mean"][epoch], norms.mean(), rtol=1e-12)
      self.assertAllClose(logged["jacobian_norm_mean"][epoch],  # the default (FC) route
                          api.jacobian_norms(model, probe).mean_norm, rtol=1e-5)
      self.assertAllClose(logged["jacobian_norm_q10"][epoch], np.quantile(norms, 0.1),
                          rtol=1e-12)
      self.assertAllClose(logged["jacobian_norm_q90"][epoch], np.quantile(norms, 0.9),
                          rtol=1e-12)
      counts = api.transitions(model, loops, num_samples=96, bins=16).counts
      self.assertEqual(logged["transitions_mean"][epoch], counts.mean())
    self.assertNotEqual(logged["jacobian_norm_mean"][1], logged["jacobian_norm_mean"][4])
    scalars, _ = _scalars(log_dir)
    self.assertEqual(set(scalars["sensitivity/jacobian_norm_mean"]), {2, 4, 5})
    self.assertAllClose(scalars["sensitivity/jacobian_norm_mean"][4],
                        logged["jacobian_norm_mean"][3], rtol=1e-6)

  def test_bad_arguments_are_refused_in_one_line(self):
    with self.assertRaisesRegex(ValueError, r"^every_n_epochs=0 is invalid"):
      SensitivityCallback(np.zeros((2, 3)), every_n_epochs=0)
    with self.assertRaisesRegex(ValueError, r"^quantiles=\[1.5\] is invalid"):
      SensitivityCallback(np.zeros((2, 3)), quantiles=(1.5,))

  def test_the_docs_example_runs_as_written(self):
    """docs/measures.md's callback example, executed as written."""
    text = (REPO / "docs" / "measures.md").read_text()
    block = re.search(r"<!-- callback-example -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(block, "docs/measures.md", "exec"), namespace)  # noqa: S102
    history = namespace["history"].history
    self.assertIn("jacobian_norm_mean", history)
    self.assertTrue(np.isfinite(history["jacobian_norm_mean"][-1]))


class HParamsExportTest(tf.test.TestCase):

  def test_export_is_read_back_by_tensorboard(self):
    frame = pd.DataFrame(dict(
        trial_key=["k0", "k1", "k2"], depth=[1, 2, 2], optimizer=["adam", "sgd", "adam"],
        learning_rate=[1e-3, 2e-2, 5e-3], augment=[False, True, False],
        generalization_gap=[0.1, 0.25, float("nan")], jacobian_test_mean=[0.5, 1.5, 2.0]))
    log_dir = pathlib.Path(self.get_temp_dir(), "hparams")
    names = hparams_dashboard.export_table(frame, log_dir, max_discrete=2)
    self.assertEqual(names, ["k0", "k1", "k2"])
    _, root = _scalars(log_dir)
    config_tag = hparams_metadata.EXPERIMENT_TAG
    experiment = hparams_metadata.parse_experiment_plugin_data(
        root.SummaryMetadata(config_tag).plugin_data.content)
    domains = {h.name: h for h in experiment.hparam_infos}
    self.assertCountEqual(domains, ["depth", "optimizer", "learning_rate", "augment"])
    self.assertAllClose([domains["learning_rate"].domain_interval.min_value,
                         domains["learning_rate"].domain_interval.max_value], [1e-3, 2e-2])
    self.assertCountEqual([m.name.tag for m in experiment.metric_infos],
                          ["generalization_gap", "jacobian_test_mean"])
    for i, name in enumerate(names):
      scalars, acc = _scalars(log_dir / name)
      start = hparams_metadata.parse_session_start_info_plugin_data(
          acc.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content)
      self.assertEqual(start.hparams["depth"].number_value, frame.depth[i])
      self.assertEqual(start.hparams["optimizer"].string_value, frame.optimizer[i])
      self.assertEqual(start.hparams["augment"].bool_value, frame.augment[i])
      self.assertAllClose(scalars["jacobian_test_mean"][0], frame.jacobian_test_mean[i])
      if i == 2:
        self.assertNotIn("generalization_gap", scalars)  # NaN is not written
      else:
        self.assertAllClose(scalars["generalization_gap"][0], frame.generalization_gap[i])

  def test_unknown_column_is_refused(self):
    with self.assertRaisesRegex(ValueError, r"^column 'depth' is not in the table"):
      hparams_dashboard.export_table(pd.DataFrame(dict(gap=[0.1])), self.get_temp_dir(),
                                     hparams=["depth"], metrics=[])
