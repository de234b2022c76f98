"""Ellipses, sampled transitions and the exact counter, against hand counts and each other."""

import math

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import oracles
from sensitivity_tf.metrics import exact_transitions
from sensitivity_tf.networks import models
from sensitivity_tf.metrics import trajectories
from sensitivity_tf.metrics import transitions

PIECEWISE = ["relu", "relu6", "hard_tanh", "hard_sigmoid"]


def one_neuron_net(name, scale, shift=0.0, width=1):
  """1-D input, `width` hidden neurons z_n = scale * (x - shift_n), one logit."""
  model = models.build_fc_network(1, 2, depth=1, width=width, nonlinearity=name)
  hidden = model.get_layer("hidden_0")
  shifts = np.broadcast_to(np.asarray(shift, np.float32), (width,))
  hidden.kernel.assign(np.full((1, width), scale, np.float32))
  hidden.bias.assign((-scale * shifts).astype(np.float32))
  return model


def cosine_ellipse():
  """x(φ) = cos φ in one dimension: through 0.5, -1, 0.5."""
  return trajectories.Ellipse.through([0.5], [-1.0], [0.5])


class EllipseTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(1, 2, 784, 3072)
  def test_passes_through_anchors(self, d):
    x = np.random.default_rng(d).normal(size=(3, d))
    e = trajectories.Ellipse.through(*x)
    self.assertAllClose(e.at(np.array(trajectories.ANCHOR_ANGLES)), x, atol=1e-12)
    samples = e.samples(3072)
    self.assertAllClose(samples[[512, 1536, 2560]], x, atol=1e-12)
    self.assertAllClose(e.at(0.0), e.center + e.a)

  def test_anchor_kinds(self):
    rng = np.random.default_rng(0)
    x = rng.random((300, 5))
    y = np.arange(300) % 10
    for kind in trajectories.KINDS:
      a = trajectories.make_ellipses(kind, 20, seed=3, x_train=x, y_train=y,
                                     feature_mean=x.mean(0), feature_std=x.std(0),
                                     input_low=0.0, input_high=1.0)
      b = trajectories.make_ellipses(kind, 20, seed=3, x_train=x, y_train=y,
                                     feature_mean=x.mean(0), feature_std=x.std(0),
                                     input_low=0.0, input_high=1.0)
      for e1, e2 in zip(a, b):
        self.assertAllEqual(e1.anchors, e2.anchors)
      if kind == "same_class":
        self.assertTrue(all(len(set(e.anchor_labels)) == 1 for e in a))
        self.assertTrue(all(len(set(e.anchor_indices)) == 3 for e in a))
      elif kind == "different_class":
        self.assertTrue(all(len(set(e.anchor_labels)) == 3 for e in a))
      if kind != "random":
        for e in a:
          self.assertAllEqual(e.anchors, x[e.anchor_indices])

  def test_random_anchors_follow_feature_statistics(self):
    mean = np.array([0.5, 0.2, 0.5])
    std = np.array([0.1, 0.05, 2.0])
    ellipses = trajectories.make_ellipses("random", 3000, seed=1, feature_mean=mean,
                                          feature_std=std, input_low=0.0, input_high=1.0)
    anchors = np.concatenate([e.anchors for e in ellipses])
    self.assertAllClose(anchors.mean(0)[:2], mean[:2], atol=0.005)
    self.assertAllClose(anchors.std(0)[:2], std[:2], rtol=0.05)
    self.assertTrue(0.0 <= anchors.min() and anchors.max() <= 1.0)  # clipped
    self.assertGreater(np.mean(anchors[:, 2] == 1.0), 0.3)

  def test_test_point_ellipses(self):
    x = np.random.default_rng(0).random((50, 4))
    ellipses = trajectories.ellipses_through_test_points(x, np.arange(10), seed=2)
    for i, e in enumerate(ellipses):
      self.assertEqual(e.anchor_indices[0], i)
      self.assertLen(set(e.anchor_indices), 3)
      self.assertAllClose(e.at(math.pi / 3), x[i], atol=1e-12)


class HandCountTest(parameterized.TestCase, tf.test.TestCase):

  def test_three_piece_jump_counts_two(self):
    # z = 20 cos φ at φ = 0, 60, ..., 300 degrees: 20, 10, -10, -20, -10, 10;
    # relu6 codes 2, 2, 0, 0, 0, 2: two jumps of 2.
    model = one_neuron_net("relu6", 20.0)
    result = transitions.TransitionCounter(model, num_samples=6, bins=6).along([cosine_ellipse()])
    self.assertEqual(result.counts[0], 4)
    self.assertAllEqual(result.bin_counts[0], [0, 2, 0, 0, 2, 0])
    self.assertEqual(exact_transitions.along_ellipse(model, cosine_ellipse()).count, 4)

  def test_wrap_around_step_is_counted(self):
    # z = 10 (cos φ - 0.75): relu codes 1, 0, 0, 0, 0, 0; the only other change is from
    # the last sample back to the first.
    model = one_neuron_net("relu", 10.0, 0.75)
    result = transitions.TransitionCounter(model, num_samples=6, bins=6).along([cosine_ellipse()])
    self.assertEqual(result.counts[0], 2)
    self.assertAllEqual(result.bin_counts[0], [1, 0, 0, 0, 0, 1])

  @parameterized.parameters(*PIECEWISE)
  def test_relu_layer_on_a_loop_crosses_each_threshold_twice(self, name):
    # Neurons z_n = x - s_n; a 1-D loop x = cos φ crosses each breakpoint inside (-1, 1)
    # twice. Count the thresholds by hand.
    shifts = np.random.default_rng(0).uniform(-4.5, 4.5, size=40).astype(np.float32)
    model = one_neuron_net(name, 1.0, shifts, width=40)
    breakpoints = np.array(models.nonlinearity_of(model).breakpoints)
    inside = sum(int(np.sum(np.abs(shifts + b) < 1.0)) for b in breakpoints)
    exact = exact_transitions.along_ellipse(model, cosine_ellipse())
    self.assertEqual(exact.count, 2 * inside)
    sampled = transitions.TransitionCounter(model, num_samples=3072, dtype="float64").along(
        [cosine_ellipse()])
    self.assertEqual(sampled.counts[0], 2 * inside)

  def test_one_hidden_layer_segment_closed_form(self):
    rng = np.random.default_rng(0)
    model = models.build_fc_network(8, 3, depth=1, width=50, bias_scale=1.0, seed=2)
    for _ in range(5):
      x0, x1 = rng.normal(size=(2, 8))
      z0 = oracles.forward64(model, x0[None], "relu")[0][0]
      z1 = oracles.forward64(model, x1[None], "relu")[0][0]
      expected = int(np.sum((z0 >= 0) != (z1 >= 0)))  # affine in t: at most one crossing
      self.assertEqual(exact_transitions.along_segment(model, x0, x1).count, expected)


class ExactOracleTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.product(name=PIECEWISE, seed=[0, 1, 2])
  def test_sampled_never_exceeds_and_converges_to_exact(self, name, seed):
    rng = np.random.default_rng(seed)
    model = models.build_fc_network(12, 4, depth=3, width=24, nonlinearity=name,
                                    bias_scale=0.5, seed=seed)
    ellipse = trajectories.Ellipse.through(*(rng.normal(size=(3, 12)) * 2))
    exact = exact_transitions.along_ellipse(model, ellipse)
    self.assertGreater(exact.count, 10)
    previous = 0
    for k in (48, 384, 3072, 49152):
      sampled = transitions.TransitionCounter(model, num_samples=k, bins=48,
                                              dtype="float64").along([ellipse])
      self.assertLessEqual(sampled.counts[0], exact.count)
      self.assertGreaterEqual(sampled.counts[0] + 2, previous)  # non-decreasing up to noise
      previous = sampled.counts[0]
    self.assertEqual(sampled.counts[0], exact.count)
    self.assertAllEqual(sampled.bin_counts[0], exact_transitions.exact_bin_counts(exact, 48))

  @parameterized.parameters(*PIECEWISE)
  def test_segment_exact_bounds_sampled(self, name):
    rng = np.random.default_rng(5)
    model = models.build_fc_network(10, 3, depth=2, width=32, nonlinearity=name,
                                    bias_scale=0.5, seed=4)
    x0, x1 = rng.normal(size=(2, 10)) * 2
    exact = exact_transitions.along_segment(model, x0, x1)
    counter = transitions.TransitionCounter(model, num_samples=6, bins=1, dtype="float64")
    for k in (10, 1000, 100000):
      t = np.linspace(0, 1, k)[:, None]
      codes = counter.codes(x0 + t * (x1 - x0)).numpy().astype(int)
      sampled = int(np.abs(np.diff(codes, axis=0)).sum())
      self.assertLessEqual(sampled, exact.count)
    self.assertEqual(sampled, exact.count)
    self.assertTrue(np.all(np.diff(exact.positions) > 0))

  def test_refuses_smooth_networks(self):
    model = models.build_fc_network(3, 2, 1, 4, "tanh")
    with self.assertRaisesRegex(ValueError, "needs a piecewise-linear network; 'tanh'"):
      exact_transitions.along_ellipse(model, trajectories.Ellipse.through(*np.eye(3)))
    counter = transitions.TransitionCounter(model, num_samples=6, bins=1)
    self.assertFalse(counter.settings["piecewise_linear"])
    self.assertIn("sign", counter.settings["code"])


class SampledCounterTest(parameterized.TestCase, tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.model = models.build_fc_network(20, 5, depth=2, width=40, nonlinearity="relu6",
                                         bias_scale=0.3, seed=1)
    self.ellipses = [trajectories.Ellipse.through(*rng.normal(size=(3, 20))) for _ in range(5)]

  def test_chunking_and_batching_do_not_change_counts(self):
    reference = transitions.TransitionCounter(self.model, num_samples=384, bins=64).along(
        self.ellipses)
    for chunk in (1, 7, 100, 100000):
      other = transitions.TransitionCounter(self.model, num_samples=384, bins=64,
                                            chunk_size=chunk).along(self.ellipses)
      self.assertAllEqual(other.bin_counts, reference.bin_counts)
    one_by_one = [transitions.TransitionCounter(self.model, num_samples=384, bins=64).along([e])
                  for e in self.ellipses]
    self.assertAllEqual(np.concatenate([r.counts for r in one_by_one]), reference.counts)

  def test_codes_are_those_of_the_model_pre_activations(self):
    x = np.random.default_rng(1).normal(size=(50, 20)).astype(np.float32) * 3
    pre = models.pre_activation_model(self.model)(x)[:-1]
    expected = np.concatenate([np.searchsorted([0.0, 6.0], z.numpy(), side="right")
                               for z in pre], axis=1)
    counter = transitions.TransitionCounter(self.model, num_samples=6, bins=1)
    self.assertAllEqual(counter.codes(x), expected)

  def test_density(self):
    result = transitions.TransitionCounter(self.model, num_samples=3072, bins=64).along(
        self.ellipses)
    self.assertAllEqual(result.bin_counts.sum(1), result.counts)
    self.assertAllClose(result.densities.mean(1), result.counts / (2 * math.pi))
    coarse = transitions.TransitionCounter(self.model, num_samples=3072, bins=8).along(
        self.ellipses)
    self.assertAllClose(coarse.densities, result.densities.reshape(5, 8, 8).mean(2))

  @parameterized.parameters((100, 4, "num_samples=100 is invalid"),
                            (3072, 100, "bins=100 is invalid; allowed: a divisor"))
  def test_invalid_sampling(self, k, bins, message):
    with self.assertRaisesRegex(ValueError, message):
      transitions.TransitionCounter(self.model, num_samples=k, bins=bins)


if __name__ == "__main__":
  tf.test.main()
