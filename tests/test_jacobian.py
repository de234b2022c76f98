"""The Jacobian norm against independent float64 oracles, including saturated softmax."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import oracles
from sensitivity_tf.metrics import jacobian
from sensitivity_tf.networks import models
from sensitivity_tf.networks import nonlinearities

# (depth, width, input_dim, classes): depth 0, Gram route (width < d), direct (width >= d).
SHAPES = [(0, 1, 7, 3), (1, 5, 12, 4), (2, 16, 30, 10), (3, 9, 6, 5), (4, 32, 20, 3)]


def network(name, depth, width, d, k, seed=1, bias_scale=0.3):
  return models.build_fc_network(d, k, depth, width, name, weight_scale=2.0,
                                 bias_scale=bias_scale, seed=seed)


def points(n, d, seed=0, scale=1.0):
  return (np.random.default_rng(seed).normal(size=(n, d)) * scale).astype(np.float32)


class ExactnessTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.product(name=list(nonlinearities.NONLINEARITIES), shape=SHAPES,
                         variant=["softmax", "logits"])
  def test_against_float64_batch_jacobian(self, name, shape, variant):
    depth, width, d, k = shape
    model = network(name, depth, width, d, k)
    x = points(11, d)
    g, logits = oracles.logit_jacobian64(model, x, name)
    if variant == "softmax":
      expected = oracles.spec_contraction_norms(g, logits)
    else:
      expected = np.sqrt((g ** 2).sum(axis=(1, 2)))
    result = jacobian.JacobianNorm(model, variant=variant, batch_size=4)(x)
    self.assertAllClose(result.norms, expected, rtol=2e-6, atol=0)
    self.assertEqual(result.settings["route"], "gram" if (width if depth else k) < d else "direct")
    self.assertEqual(result.underflow_count, 0)

  @parameterized.product(name=list(nonlinearities.NONLINEARITIES), variant=["softmax", "logits"])
  def test_against_central_finite_differences(self, name, variant):
    model = network(name, 2, 8, 6, 4, seed=3)
    x = points(6, 6, seed=5)
    expected = oracles.finite_difference_norms(model, x, name, variant)
    result = jacobian.JacobianNorm(model, variant=variant, batch_size=8)(x)
    self.assertAllClose(result.norms, expected, rtol=2e-5)

  def test_linear_softmax_closed_form(self):
    model = network("relu", 0, 1, 9, 5, seed=2)
    x = points(10, 9)
    w = model.get_layer("logits").kernel.numpy().astype(np.float64)  # d x K
    logits = x.astype(np.float64) @ w + model.get_layer("logits").bias.numpy()
    p = oracles.softmax64(logits)
    expected = [np.linalg.norm((np.diag(pi) - np.outer(pi, pi)) @ w.T) for pi in p]
    self.assertAllClose(jacobian.jacobian_norms(model, x).norms, expected, rtol=1e-6)

  def test_batches_equal_one_at_a_time_and_no_retracing(self):
    model = network("relu6", 2, 16, 30, 10)
    x = points(23, 30)
    batched = jacobian.JacobianNorm(model, batch_size=8)
    together = batched(x).norms
    single = jacobian.JacobianNorm(model, batch_size=1)
    one_by_one = np.concatenate([single(x[i:i + 1]).norms for i in range(len(x))])
    self.assertAllClose(together, one_by_one, rtol=1e-6)
    batched(x[:3])
    batched(x[:17])
    self.assertEqual(batched._fn.experimental_get_tracing_count(), 1)

  def test_model_mean_is_mean_of_point_norms(self):
    model = network("relu", 2, 16, 30, 10)
    result = jacobian.jacobian_norms(model, points(40, 30, scale=3.0))
    self.assertEqual(result.mean_norm, np.mean(result.norms))
    # ... which is neither the RMS nor the norm at the mean point.
    self.assertNotAlmostEqual(result.mean_norm, np.sqrt(np.mean(result.norms ** 2)), places=6)


class SaturationTest(parameterized.TestCase, tf.test.TestCase):
  """Logit gaps of 20, 40 and 100, where the naive formula and TF's gradient fail."""

  def saturated(self, gap, name="relu", seed=0):
    """A network and a point whose top-two logit gap is exactly ``gap`` (up to float32)."""
    model = network(name, 2, 16, 12, 10, seed=4 + seed)
    x = points(1, 12, seed=seed, scale=0.5)
    top2 = np.sort(model(x).numpy()[0])[-2:]
    factor = gap / (top2[1] - top2[0])
    layer = model.get_layer("logits")
    layer.kernel.assign(layer.kernel * factor)
    layer.bias.assign(layer.bias * factor)
    return model, x

  @parameterized.product(gap=[20, 40, 100], name=["relu", "hard_tanh", "tanh"], seed=[0, 1])
  def test_exact_where_naive_fails(self, gap, name, seed):
    model, x = self.saturated(gap, name, seed)
    g, _ = oracles.logit_jacobian64(model, x, name)
    # The oracle uses the network's own (float32) logits: the float32 rounding of logits
    # of magnitude ~gap is a property of the model, not of the norm's computation.
    logits32 = model(x).numpy()
    expected = oracles.spec_contraction_norms(g, logits32)
    result = jacobian.JacobianNorm(model, batch_size=1)(x)
    self.assertGreater(expected[0], 0)
    self.assertAllClose(result.norms, expected, rtol=2e-6, atol=0)
    self.assertAllClose(result.log10_norms, np.log10(expected), rtol=0, atol=1e-6)
    naive_error = abs(oracles.naive_norms(g, logits32)[0] / expected[0] - 1)
    tf_error = abs(oracles.tf_softmax_jacobian_norms(model, x, name)[0] / expected[0] - 1)
    if gap >= 40:
      self.assertGreater(naive_error, 1e-2)
      self.assertGreater(tf_error, 1e-2)
    self.assertLess(result.norms[0], np.exp(-0.5 * gap) * np.abs(g).sum())

  def test_float64_underflow_is_counted_not_hidden(self):
    for gap in (800, 1200):
      model, x = self.saturated(gap)
      result = jacobian.JacobianNorm(model, batch_size=1)(x)
      self.assertEqual(result.underflow_count, 1)
      self.assertEqual(result.norms[0], 0.0)
      # log10 stays exact where the norm itself cannot be represented: compare with the
      # same norm at gap 100, shifted by the exact change of σ ≈ exp(-gap) (the rest of J
      # is unchanged up to the scale of the logit layer).
      logits = model(x).numpy()[0].astype(np.float64)
      top, others = logits.max(), np.delete(logits, logits.argmax())
      log10_sigma = (np.log(np.exp(others - others.max()).sum()) + others.max() - top) / np.log(10)
      g, _ = oracles.logit_jacobian64(model, x, "relu")
      # ‖J‖/σ is between min and max over j of ‖g_k* − g_j‖ times at most 2.
      spread = np.linalg.norm(g[0][logits.argmax()][None] - g[0], axis=1)
      self.assertBetween(result.log10_norms[0] - log10_sigma,
                         np.log10(np.min(spread[spread > 0])) - 1, np.log10(np.max(spread)) + 1)

  def test_exactly_zero_jacobian_is_not_an_underflow(self):
    model = network("relu", 1, 4, 3, 3)
    model.get_layer("hidden_0").bias.assign(-100.0 * np.ones(4, np.float32))
    result = jacobian.jacobian_norms(model, points(5, 3))
    np.testing.assert_array_equal(result.norms, 0.0)
    self.assertTrue(np.all(np.isneginf(result.log10_norms)))
    self.assertEqual(result.underflow_count, 0)


class EstimatorTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters("softmax", "logits")
  def test_unbiased_within_stated_error(self, variant):
    model = network("relu", 2, 32, 40, 20, seed=7)
    x = points(300, 40, seed=2)
    exact = jacobian.JacobianNorm(model, variant=variant, batch_size=100)(x).norms
    n = 32
    estimate = jacobian.JacobianNorm(model, variant=variant, batch_size=100, num_projections=n,
                                     seed=3)(x)
    self.assertEqual(estimate.settings["estimator"], "random_projection")
    ratio = estimate.norms ** 2 / exact ** 2
    bound = jacobian.estimator_relative_error(n)
    self.assertLess(np.std(ratio), bound * 1.1)
    self.assertAllClose(np.mean(ratio), 1.0, atol=4 * bound / np.sqrt(len(x)))
    self.assertGreater(np.std(ratio), 0.2 * bound)  # it is an estimate, not the exact value

  def test_invalid_arguments(self):
    model = network("relu", 1, 4, 3, 3)
    with self.assertRaisesRegex(ValueError, "unknown Jacobian variant 'probs'; allowed: softmax"):
      jacobian.JacobianNorm(model, variant="probs")
    with self.assertRaisesRegex(ValueError, "num_projections=0 is invalid"):
      jacobian.JacobianNorm(model, num_projections=0)


if __name__ == "__main__":
  tf.test.main()
