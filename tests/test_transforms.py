"""Seeded dataset options: random labels, stratified subsets, standardization, augmentation."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from conftest import tiny_dataset
from sensitivity_tf.data import augmentation
from sensitivity_tf.data import transforms


class RandomLabelsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(0.0, 0.25, 0.5, 1.0)
  def test_fraction_replaced(self, fraction):
    labels = np.arange(20000) % 10
    new, mask = transforms.randomize_labels(labels, fraction, 10, seed=3)
    self.assertEqual(mask.sum(), round(fraction * 20000))
    np.testing.assert_array_equal(new[~mask], labels[~mask])
    # Replaced labels are uniform over the 10 classes: about 1/10 of them keep their class.
    if fraction:
      changed = (new != labels).mean()
      self.assertAllClose(changed, fraction * 0.9, atol=0.015)
      counts = np.bincount(new[mask], minlength=10) / mask.sum()
      self.assertAllClose(counts, np.full(10, 0.1), atol=0.02)

  def test_seeds(self):
    labels = np.arange(1000) % 10
    a, _ = transforms.randomize_labels(labels, 0.5, 10, seed=1)
    b, _ = transforms.randomize_labels(labels, 0.5, 10, seed=1)
    c, _ = transforms.randomize_labels(labels, 0.5, 10, seed=2)
    np.testing.assert_array_equal(a, b)
    self.assertGreater((a != c).mean(), 0.2)

  def test_label_seed_does_not_move_subset_and_back(self):
    base = tiny_dataset(n_train=300, train_subset=90, subset_seed=4,
                        random_label_fraction=0.5, label_seed=1)
    other_labels = tiny_dataset(n_train=300, train_subset=90, subset_seed=4,
                                random_label_fraction=0.5, label_seed=2)
    other_subset = tiny_dataset(n_train=300, train_subset=90, subset_seed=5,
                                random_label_fraction=0.5, label_seed=1)
    np.testing.assert_array_equal(base.train_indices, other_labels.train_indices)
    np.testing.assert_array_equal(base.x_train, other_labels.x_train)
    self.assertFalse(np.array_equal(base.y_train, other_labels.y_train))
    self.assertFalse(np.array_equal(base.train_indices, other_subset.train_indices))
    np.testing.assert_array_equal(base.random_label_mask, other_subset.random_label_mask)
    np.testing.assert_array_equal(base.y_train_true, (base.train_indices % 3))

  def test_out_of_range_fraction(self):
    with self.assertRaisesRegex(ValueError, r"random_label_fraction=1.5 is invalid"):
      transforms.randomize_labels(np.zeros(5, int), 1.5, 10, 0)


class SubsetTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters((1000, 0), (999, 1), (37, 2), (10, 3))
  def test_stratified(self, size, seed):
    rng = np.random.default_rng(0)
    labels = rng.choice(10, size=5000, p=np.linspace(1, 3, 10) / np.linspace(1, 3, 10).sum())
    idx = transforms.stratified_subset(labels, size, 10, seed)
    self.assertLen(idx, size)
    self.assertLen(np.unique(idx), size)
    expected = size * np.bincount(labels, minlength=10) / len(labels)
    got = np.bincount(labels[idx], minlength=10)
    self.assertTrue(np.all(np.abs(got - expected) < 1.0 + 1e-9), (got, expected))

  def test_seed_changes_choice_only(self):
    labels = np.arange(1000) % 10
    a = transforms.stratified_subset(labels, 100, 10, 0)
    b = transforms.stratified_subset(labels, 100, 10, 1)
    np.testing.assert_array_equal(np.bincount(labels[a]), np.bincount(labels[b]))
    self.assertFalse(np.array_equal(a, b))

  def test_too_large(self):
    with self.assertRaisesRegex(ValueError, r"train_subset=11 is invalid; allowed: 1..10"):
      transforms.stratified_subset(np.zeros(10, int), 11, 1, 0)


class StandardizeTest(tf.test.TestCase):

  def test_zero_mean_unit_std_and_constant_features(self):
    ds = tiny_dataset(n_train=90, standardize=True)
    raw = tiny_dataset(n_train=90)
    self.assertAllClose(ds.x_train.mean(0), np.zeros(16), atol=1e-5)
    nonconstant = raw.x_train.std(0) > 0
    self.assertAllClose(ds.x_train.std(0)[nonconstant], np.ones(nonconstant.sum()), atol=1e-4)
    # Valid input range maps pixel 0 and 255 through the same transform.
    self.assertAllClose(ds.input_low, (0 - ds.shift) / ds.scale)
    self.assertAllClose(ds.x_test, (raw.x_test - ds.shift) / ds.scale, atol=1e-6)


def shifted(image, dy, dx):
  """Oracle: image translated by (dy, dx) pixels with zero fill, in NumPy."""
  out = np.zeros_like(image)
  h, w = image.shape[:2]
  ys, xs = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
  yi, xi = slice(max(-dy, 0), h + min(-dy, 0)), slice(max(-dx, 0), w + min(-dx, 0))
  out[ys, xs] = image[yi, xi]
  return out


class AugmentationTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(((28, 28, 1), False), ((32, 32, 3), True))
  def test_each_output_is_a_translation_or_flip_of_its_input(self, shape, standardize):
    rng = np.random.default_rng(0)
    n = 64
    images = rng.random((n,) + shape).astype(np.float32)
    policy = augmentation.policy_for(shape)
    x = images.reshape(n, -1)
    shift = scale = None
    if standardize:
      shift = x.mean(0)
      scale = x.std(0) + 0.5
      x = (x - shift) / scale
    out = augmentation.augment(tf.constant(x), shape, policy, tf.constant([7, 3], tf.int64),
                               shift, scale).numpy()
    if standardize:
      out = out * scale + shift
    out = out.reshape((n,) + shape)
    s = policy.max_shift
    flips_seen = set()
    for i in range(n):
      candidates = []
      for flip in ((False, True) if policy.horizontal_flip else (False,)):
        src = images[i][:, ::-1] if flip else images[i]
        for dy in range(-s, s + 1):
          for dx in range(-s, s + 1):
            if np.allclose(out[i], shifted(src, dy, dx), atol=1e-5):
              candidates.append((flip, dy, dx))
      self.assertNotEmpty(candidates, f"example {i} is not a translation of its input")
      flips_seen.add(candidates[0][0])
    self.assertTrue(-1e-6 <= out.min() and out.max() <= 1.0 + 1e-6)
    if policy.horizontal_flip:
      self.assertEqual(flips_seen, {False, True})

  def test_stateless_in_seed(self):
    x = tf.random.uniform((8, 784), seed=1)
    policy = augmentation.policy_for((28, 28, 1))
    a = augmentation.augment(x, (28, 28, 1), policy, tf.constant([1, 5], tf.int64))
    b = augmentation.augment(x, (28, 28, 1), policy, tf.constant([1, 5], tf.int64))
    c = augmentation.augment(x, (28, 28, 1), policy, tf.constant([1, 6], tf.int64))
    self.assertAllEqual(a, b)
    self.assertNotAllClose(a, c)


if __name__ == "__main__":
  tf.test.main()
