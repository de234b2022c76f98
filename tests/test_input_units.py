"""‖J‖ per raw pixel (jacobian_wrt=raw_pixels) against a float64 finite-difference oracle, and
the units every ‖J‖ is reported in."""

import dataclasses
import hashlib
import json

import numpy as np
import tensorflow as tf

from conftest import synthetic_images
from sensitivity_tf.data import preprocessing
from sensitivity_tf.data import registry
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.metrics import input_units
from sensitivity_tf.metrics import jacobian
from sensitivity_tf.networks import models
from sensitivity_tf.train import train_config

SHAPE = (4, 4, 1)


def standardized_dataset():
  """A 3-class 4x4 dataset, standardized, with one zero-variance pixel (always 0: scale 1)
  and one near-constant pixel (tiny std: a large 1/scale)."""
  spec = registry.DatasetSpec("tiny", SHAPE, 3, 60, 30, "tiny", ("0", "1", "2"))
  (x_tr, y_tr), (x_te, y_te) = synthetic_images(60, SHAPE, 3, 0), synthetic_images(30, SHAPE, 3, 1)
  for x in (x_tr, x_te):
    x.reshape(len(x), -1)[:, 0] = 0
    x.reshape(len(x), -1)[:, 1] = 100
  x_tr.reshape(60, -1)[0, 1] = 101  # std about 0.0005 in [0, 1] pixels
  return preprocessing.preprocess(spec, (x_tr, y_tr), (x_te, y_te), "synthetic",
                                  standardize=True)


def fd_raw_jacobian_norms(model, scale, u):
  """‖∂softmax(f(u / scale))/∂u‖_F by central differences, in float64 (numpy forward pass
  of the Dense ReLU stack with the model's weights)."""
  weights = [w.astype(np.float64) for w in model.get_weights()]

  def probabilities(v):
    h = v / scale
    for i in range(0, len(weights) - 2, 2):
      h = np.maximum(h @ weights[i] + weights[i + 1], 0.0)
    f = h @ weights[-2] + weights[-1]
    e = np.exp(f - f.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)

  step = 1e-7
  out = []
  for point in u.astype(np.float64):
    columns = [(probabilities(point + step * e) - probabilities(point - step * e)) / (2 * step)
               for e in np.eye(len(point))]
    out.append(np.linalg.norm(np.stack(columns, axis=1)))
  return np.array(out)


class RawPixelJacobianTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.ds = standardized_dataset()
    cls.fc = models.build("fc", SHAPE, 3, 2, 16, "relu", 2.0, 0.1, 0)

  def test_scale_of_zero_and_near_zero_variance_pixels(self):
    self.assertEqual(self.ds.scale[0], 1.0)            # zero variance: divided by 1
    self.assertLess(self.ds.scale[1], 1e-3)            # near-constant: a tiny scale
    self.assertTrue(np.all(self.ds.scale[2:] > 0.01))

  def test_fc_route_against_float64_finite_differences(self):
    x = self.ds.x_test[:8]
    raw = input_units.norms_for(self.fc, self.ds.scale, "raw_pixels")
    self.assertEqual(raw.route, jacobian.JacobianNorm(self.fc).route)  # still the FC route
    oracle = fd_raw_jacobian_norms(self.fc, self.ds.scale.astype(np.float64),
                                   x.astype(np.float64) * self.ds.scale)
    self.assertAllClose(raw(x).norms, oracle, rtol=2e-4)
    # The near-constant pixel's column dominates: far above the model-input norm.
    model_input = input_units.norms_for(self.fc, self.ds.scale, "model_input")(x).norms
    self.assertTrue(np.all(raw(x).norms > 10 * model_input))

  def test_equals_model_input_jacobian_divided_column_wise(self):
    # Any Keras model (here a CNN, through the GradientTape route): the full float32 Jacobian
    # of the softmax with respect to the model input, columns divided by the scale.
    cnn = models.build("cnn", SHAPE, 3, 1, 4, "relu", 2.0, 0.0, 0)
    x = tf.constant(self.ds.x_test[:6])
    with tf.GradientTape() as tape:
      tape.watch(x)
      p = tf.nn.softmax(cnn(x))
    full = tape.batch_jacobian(p, x).numpy().astype(np.float64)      # (6, 3, 16)
    expected = np.linalg.norm(full / self.ds.scale.astype(np.float64), axis=(1, 2))
    got = input_units.norms_for(cnn, self.ds.scale, "raw_pixels")(x.numpy()).norms
    self.assertAllClose(got, expected, rtol=1e-4)

  def test_unstandardized_inputs_are_already_raw_pixels(self):
    ones = np.ones(16, np.float32)
    self.assertIsInstance(input_units.norms_for(self.fc, ones, "raw_pixels"),
                          jacobian.JacobianNorm)
    self.assertEqual(input_units.unit(False, "model_input"), input_units.RAW)
    self.assertEqual(input_units.unit(True, "raw_pixels"), input_units.RAW)
    self.assertEqual(input_units.unit(True, "model_input"), input_units.STANDARDIZED)
    self.assertEqual(input_units.label(False), "‖J‖ (per raw pixel in [0, 1])")

  def test_evaluation_setting(self):
    settings = evaluation.EvaluationSettings(
        num_samples=96, bins=16, ellipses_per_kind=1, ellipse_jacobian_samples=12,
        test_point_ellipses=0, test_points=10, train_points=0, jacobian_wrt="raw_pixels")
    points, _, _, summary = evaluation.evaluate(self.fc, self.ds, settings)
    x = self.ds.x_test[points["index"].values].astype(np.float64)
    oracle = fd_raw_jacobian_norms(self.fc, self.ds.scale.astype(np.float64),
                                   x * self.ds.scale)
    self.assertAllClose(points.jacobian_norm, oracle, rtol=2e-4)
    self.assertEqual(summary["jacobian_unit"], input_units.RAW)
    default = dataclasses.replace(settings, jacobian_wrt="model_input")
    _, _, _, summary = evaluation.evaluate(self.fc, self.ds, default)
    self.assertEqual(summary["jacobian_unit"], input_units.STANDARDIZED)
    # The default leaves the settings id as it was before the field existed (no survey
    # network's key moves); the raw-pixel setting is another evaluation.
    fields = dataclasses.asdict(default)
    del fields["jacobian_wrt"]
    old_id = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
    self.assertEqual(default.settings_id, old_id)
    self.assertNotEqual(settings.settings_id, old_id)
    with self.assertRaisesRegex(train_config.ConfigError,
                                "jacobian_wrt='pixels' is invalid; allowed: model_input, "
                                "raw_pixels"):
      dataclasses.replace(settings, jacobian_wrt="pixels").validate()


if __name__ == "__main__":
  tf.test.main()
