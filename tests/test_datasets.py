"""Every data source against the published facts of the real datasets, and the errors."""

import functools
import gzip
import hashlib
import os
import pathlib
import tarfile
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from conftest import CIFAR10_ARCHIVE, FASHION_DEBIAN, MNIST_NPZ
from sensitivity_tf import data
from sensitivity_tf.data import readers
from sensitivity_tf.data import preprocessing
from sensitivity_tf.data import registry
from sensitivity_tf.data import sources


@functools.lru_cache(maxsize=None)
def fashion():
  return data.load("fashion_mnist")


@functools.lru_cache(maxsize=None)
def cifar10_raw():
  return sources.load_raw("cifar10", data_dir=str(CIFAR10_ARCHIVE))


class FashionMnistDebianTest(tf.test.TestCase):
  """The Debian copy, found with no data_dir at all (the default source)."""

  def test_source_counts_and_statistics(self):
    ds = fashion()
    self.assertStartsWith(ds.source, f"idx:{FASHION_DEBIAN}")
    self.assertEqual(ds.x_train.shape, (60000, 784))
    self.assertEqual(ds.x_test.shape, (10000, 784))
    np.testing.assert_array_equal(np.bincount(ds.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)
    self.assertAllClose(ds.x_train.mean(dtype=np.float64), 0.2860, atol=5e-5)
    self.assertAllClose(ds.x_train.std(dtype=np.float64), 0.3530, atol=5e-5)
    np.testing.assert_array_equal(ds.y_train[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    self.assertEqual(ds.x_train.dtype, np.float32)
    self.assertEqual((ds.x_train.min(), ds.x_train.max()), (0.0, 1.0))

  def test_uncompressed_idx_md5_matches_published(self):
    expected = {"train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
                "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965"}
    for name, md5 in expected.items():
      with gzip.open(FASHION_DEBIAN / name) as f:
        self.assertEqual(hashlib.md5(f.read()).hexdigest(), md5)


class MnistNpzTest(tf.test.TestCase):

  def test_counts_and_statistics(self):
    ds = data.load("mnist", data_dir=str(MNIST_NPZ.parent))
    self.assertEqual(ds.source, f"npz:{MNIST_NPZ}")
    self.assertEqual((len(ds.x_train), len(ds.x_test)), (60000, 10000))
    np.testing.assert_array_equal(
        np.bincount(ds.y_train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    self.assertAllClose(ds.x_train.mean(dtype=np.float64), 0.1307, atol=5e-5)
    self.assertAllClose(ds.x_train.std(dtype=np.float64), 0.3081, atol=5e-5)

  def test_file_path_and_environment_variable(self):
    direct = data.load_raw("mnist", data_dir=str(MNIST_NPZ))
    os.environ[sources.DATA_DIR_ENV] = str(MNIST_NPZ.parent)
    try:
      via_env = data.load_raw("mnist")
    finally:
      del os.environ[sources.DATA_DIR_ENV]
    np.testing.assert_array_equal(direct[1][1], via_env[1][1])
    self.assertEqual(via_env[2], f"npz:{MNIST_NPZ}")

  def test_idx_files_written_from_npz_read_back_identically(self):
    (x_train, y_train), (x_test, y_test), _ = data.load_raw("mnist", data_dir=str(MNIST_NPZ))
    with tempfile.TemporaryDirectory() as d:
      for stem, arr in (("train-images-idx3-ubyte", x_train[..., 0]),
                        ("train-labels-idx1-ubyte", y_train),
                        ("t10k-images-idx3-ubyte", x_test[..., 0]),
                        ("t10k-labels-idx1-ubyte", y_test)):
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(
            int(n).to_bytes(4, "big") for n in arr.shape)
        payload = header + arr.astype(np.uint8).tobytes()
        if stem.startswith("train-images"):
          # The classic uncompressed md5 of MNIST's training images.
          self.assertEqual(hashlib.md5(payload).hexdigest(), "6bbc9ace898e44ae57da46a324031adb")
        pathlib.Path(d, stem).write_bytes(payload)
      (xt, yt), _, source = data.load_raw("mnist", data_dir=d)
      self.assertEqual(source, f"idx:{pathlib.Path(d).resolve()}")
      np.testing.assert_array_equal(xt, x_train)
      np.testing.assert_array_equal(yt, y_train)
      # The same arrays from two sources: one fingerprint; another dataset: another one.
      from_idx = data.load("mnist", data_dir=d, train_subset=100)
      from_npz = data.load("mnist", data_dir=str(MNIST_NPZ))
      self.assertEqual(from_idx.fingerprint, from_npz.fingerprint)
      self.assertLen(from_npz.fingerprint, 16)
      self.assertNotEqual(fashion().fingerprint, from_npz.fingerprint)
      self.assertEqual(from_npz.describe()["fingerprint"], from_npz.fingerprint)


class Cifar10ImageTreeTest(tf.test.TestCase):

  def test_archive_counts_and_channel_means(self):
    (x_train, y_train), (x_test, y_test), source = cifar10_raw()
    self.assertEqual(source, f"archive:{CIFAR10_ARCHIVE}")
    self.assertEqual(x_train.shape, (50000, 32, 32, 3))
    self.assertEqual(x_test.shape, (10000, 32, 32, 3))
    np.testing.assert_array_equal(np.bincount(y_train), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    means = (x_train.reshape(-1, 3) / 255.0).mean(axis=0)
    self.assertAllClose(means, [0.4913, 0.4821, 0.4465], atol=2e-3)

  def test_directory_tree_equals_archive(self):
    """A partial tree extracted to disk reads as the same pixels in the same order."""
    (x_train, _), (x_test, _), _ = cifar10_raw()
    with tempfile.TemporaryDirectory() as d, tarfile.open(CIFAR10_ARCHIVE) as tar:
      kept = {}
      for m in tar:
        parts = pathlib.PurePosixPath(m.name).parts
        if m.isfile() and len(parts) >= 3 and parts[-3] in ("train", "test"):
          split, cls, _ = parts[-3:]
          key = (split, cls)
          if kept.get(key, 0) < 3:
            kept[key] = kept.get(key, 0) + 1
            target = pathlib.Path(d, *parts[-3:])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(m).read())
      (xt, yt), (xe, ye), source = data.load_raw("cifar10", data_dir=d)
    self.assertEqual(source, f"image_tree:{pathlib.Path(d).resolve()}")
    np.testing.assert_array_equal(np.bincount(yt), [3] * 10)
    # The first three images of each class are the archive's first three of that class.
    first = np.concatenate([np.arange(3) + 5000 * c for c in range(10)])
    order = np.argsort(cifar10_raw()[0][1], kind="stable")
    np.testing.assert_array_equal(xt, x_train[order[first]])

  def test_cached_decoding_is_reused(self):
    cifar10_raw()
    # Other tests of the session may have cached trees of their own: what matters is that
    # loading the archive again decodes nothing and writes no new cache file.
    cached = set(readers.cache_dir().glob("image_tree_*.npz"))
    self.assertNotEmpty(cached)
    start = time.time()
    (x, _), _, _ = sources.load_raw("cifar10", data_dir=str(CIFAR10_ARCHIVE))
    self.assertLess(time.time() - start, 8.0)  # decoding all JPEGs takes ~11-25 s
    self.assertEqual(set(readers.cache_dir().glob("image_tree_*.npz")), cached)
    np.testing.assert_array_equal(x[:5], cifar10_raw()[0][0][:5])


class StandInAndTfdsTest(parameterized.TestCase, tf.test.TestCase):

  def test_cifar100_stand_in_npz(self):
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
      np.savez(os.path.join(d, "cifar100.npz"),
               x_train=rng.integers(0, 256, (500, 32, 32, 3), dtype=np.uint8),
               y_train=np.arange(500) % 100,
               x_test=rng.integers(0, 256, (200, 32, 32, 3), dtype=np.uint8),
               y_test=np.arange(200) % 100)
      ds = data.load("cifar100", data_dir=d, train_subset=300, subset_seed=1)
    self.assertEqual(ds.x_train.shape, (300, 3072))
    self.assertEqual(ds.num_classes, 100)
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=100), [3] * 100)

  @parameterized.parameters("mnist", "cifar100")
  def test_tfds_branch_with_mock_data(self, name):
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=12):
      ds = data.load(name)
    self.assertStartsWith(ds.source, f"tfds:{name}")
    self.assertEqual(ds.x_train.shape, (12, registry.get_spec(name).input_dim))
    self.assertTrue(0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0)
    self.assertLess(ds.y_train.max(), registry.get_spec(name).num_classes)


class BadDataTest(parameterized.TestCase, tf.test.TestCase):

  def test_no_source_fails_fast_listing_what_was_tried(self):
    start = time.time()
    with tempfile.TemporaryDirectory() as d:
      os.environ[sources.DATA_DIR_ENV] = d
      try:
        with self.assertRaisesRegex(data.DataError, r"no source holds cifar100: tried .*"
                                    + f"{d}.*tfds:cifar100.*To fix: pass --data_dir") as cm:
          data.load_raw("cifar100", tfds_data_dir=d)
      finally:
        del os.environ[sources.DATA_DIR_ENV]
    self.assertNotIn("\n", str(cm.exception))
    self.assertLess(time.time() - start, 20)

  def _write(self, d, name, payload):
    path = pathlib.Path(d, name)
    path.write_bytes(payload)
    return path

  def test_truncated_idx_names_the_file(self):
    (x, y), (xt, yt), _ = data.load_raw("mnist", data_dir=str(MNIST_NPZ))
    with tempfile.TemporaryDirectory() as d:
      def idx(arr):
        return bytes([0, 0, 8, arr.ndim]) + b"".join(
            int(n).to_bytes(4, "big") for n in arr.shape) + arr.astype(np.uint8).tobytes()
      self._write(d, "train-images-idx3-ubyte.gz", gzip.compress(idx(x[:100, ..., 0]))[:-500])
      self._write(d, "train-labels-idx1-ubyte", idx(y[:100]))
      self._write(d, "t10k-images-idx3-ubyte", idx(xt[:10, ..., 0]))
      self._write(d, "t10k-labels-idx1-ubyte", idx(yt[:10])[:-3])
      with self.assertRaisesRegex(data.DataError, "train-images-idx3-ubyte.gz: cannot be read"):
        data.load_raw("mnist", data_dir=d)
      self._write(d, "train-images-idx3-ubyte.gz", gzip.compress(idx(x[:100, ..., 0])))
      with self.assertRaisesRegex(data.DataError, "t10k-labels-idx1-ubyte: truncated"):
        data.load_raw("mnist", data_dir=d)

  def test_wrong_shape_and_label_range_are_refused(self):
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "mnist.npz")
      np.savez(path, x_train=rng.integers(0, 255, (10, 32, 32), dtype=np.uint8),
               y_train=np.zeros(10), x_test=rng.integers(0, 255, (5, 32, 32), dtype=np.uint8),
               y_test=np.zeros(5))
      with self.assertRaisesRegex(data.DataError, r"mnist.npz.*shape \(32, 32, 1\).*\(28, 28, 1\)"):
        data.load("mnist", data_dir=d)
      np.savez(path, x_train=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
               y_train=np.arange(10) + 3, x_test=rng.integers(0, 255, (5, 28, 28), dtype=np.uint8),
               y_test=np.zeros(5))
      with self.assertRaisesRegex(data.DataError, r"mnist.npz.*labels in 3..12.*0..9"):
        data.load("mnist", data_dir=d)
      self._write(d, "mnist.npz", open(path, "rb").read()[:200])
      with self.assertRaisesRegex(data.DataError, "mnist.npz: cannot be read as .npz"):
        data.load("mnist", data_dir=d)

  def test_corrupt_archive_and_unknown_class_folder(self):
    with tempfile.TemporaryDirectory() as d:
      self._write(d, "cifar10-jpeg.tar.gz", b"not a tar archive at all")
      with self.assertRaisesRegex(data.DataError, "cifar10-jpeg.tar.gz: cannot be read as a tar"):
        data.load_raw("cifar10", data_dir=d)
    with tempfile.TemporaryDirectory() as d:
      from PIL import Image
      for split in ("train", "test"):
        pathlib.Path(d, split, "zebra").mkdir(parents=True)
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(pathlib.Path(d, split, "zebra", "0.png"))
      with self.assertRaisesRegex(data.DataError,
                                  r"train/zebra is not a class of this dataset \(classes: airp"):
        data.load_raw("cifar10", data_dir=d)

  def test_explicit_data_dir_is_never_a_fallback(self):
    # Fashion-MNIST has a default source (Debian's copy); a mistyped --data_dir must not
    # silently use it, nor must an existing folder that does not hold the data.
    with tempfile.TemporaryDirectory() as d:
      missing = os.path.join(d, "no_such_folder")
      with self.assertRaisesRegex(data.DataError, f"data_dir {missing} does not exist"):
        data.load("fashion_mnist", data_dir=missing)
      with self.assertRaisesRegex(data.DataError, f"data_dir {d} holds no fashion_mnist: tried"):
        data.load("fashion_mnist", data_dir=d)

  def _npz(self, d, x_train, y_train, x_test, y_test):
    path = os.path.join(d, "mnist.npz")
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path

  def test_float_pixels_in_unit_range_are_taken_as_such(self):
    (x, y), (xt, yt), _ = data.load_raw("mnist", data_dir=str(MNIST_NPZ))
    x, y, xt, yt = x[:500], y[:500], xt[:200], yt[:200]
    reference = data.load("mnist", data_dir=str(MNIST_NPZ), train_subset=0)
    with tempfile.TemporaryDirectory() as d:
      for dtype in (np.float32, np.float64):
        path = self._npz(d, (x / 255.0).astype(dtype), y, (xt / 255.0).astype(dtype), yt)
        ds = data.load("mnist", data_dir=path)
        self.assertEqual(ds.pixel_layout, "float pixels in [0, 1]")
        # Not destroyed (cast to uint8 they would all be 0): equal to the uint8 copy / 255.
        self.assertAllClose(ds.x_train, reference.x_train[:500], atol=1e-6, rtol=0)
        self.assertAllClose(ds.x_test.mean(), reference.x_test[:200].mean(), atol=1e-6)
        self.assertIn("float pixels in [0, 1] kept", ds.describe()["preprocessing"])
      # Whole-number floats 0..255 (MNIST saved as float64): the integer layout, exactly.
      path = self._npz(d, x.astype(np.float64), y.astype(np.float64), xt.astype(np.float64), yt)
      ds = data.load("mnist", data_dir=path)
      self.assertEqual(ds.pixel_layout, "integer pixels 0..255")
      np.testing.assert_array_equal(ds.x_train, reference.x_train[:500])
      np.testing.assert_array_equal(ds.y_train, reference.y_train[:500])

  @parameterized.named_parameters(
      ("nan_pixels", "nan", r"x_train has 1 non-finite pixel value\(s\)"),
      ("inf_pixels", "inf", r"x_test has 1 non-finite pixel value\(s\)"),
      ("fractional_labels", "labels", r"y_train has 1 non-integer label\(s\) \(e.g. 3.7\)"),
      ("nan_labels", "nan_labels", r"y_test has 1 non-finite label"),
      ("pixels_above_255", "big", r"x_train has integer pixels in 0..300; allowed: 0..255"),
      ("fractional_large", "fractional", r"x_train has pixels in 0..255 that are neither"),
      ("mixed_layouts", "mixed", r"x_train has float pixels in \[0, 1\] but x_test has integer"),
  )
  def test_bad_pixels_and_labels_name_the_file(self, kind, message):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 28, 28)).astype(np.float32) / 255
    xt = rng.integers(0, 256, (10, 28, 28)).astype(np.float32) / 255
    y, yt = np.arange(20.0) % 10, np.arange(10.0)
    if kind == "nan":
      x[3, 4, 5] = np.nan
    elif kind == "inf":
      xt[0, 0, 0] = np.inf
    elif kind == "labels":
      y[4] = 3.7
    elif kind == "nan_labels":
      yt[2] = np.nan
    elif kind == "big":
      x, xt = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (10, 28, 28))
      x[0, 0, 0], x[0, 0, 1] = 300, 0
    elif kind == "fractional":
      x = x * 255
      x[0, 0, 0], x[0, 0, 1] = 254.5, 0
    elif kind == "mixed":
      xt = (xt * 255).round()
      x[0, 0, 0] = 0.5
    with tempfile.TemporaryDirectory() as d:
      path = self._npz(d, x, y, xt, yt)
      with self.assertRaisesRegex(data.DataError, f"{path}: {message}") as cm:
        data.load("mnist", data_dir=path)
      self.assertNotIn("\n", str(cm.exception))

  def test_arrays_of_ones_own_are_checked_too(self):
    from conftest import synthetic_images
    x, y = synthetic_images(10)
    spec = registry.DatasetSpec("tiny", (4, 4, 1), 3, 10, 10, "tiny", ("0", "1", "2"))
    with self.assertRaisesRegex(data.DataError, r"mine: y_train has 1 non-integer label"):
      preprocessing.preprocess(spec, (x, y + np.where(np.arange(10) == 2, 0.5, 0.0)), (x, y), "mine")

  def test_cifar100_archive_is_not_taken_for_cifar10(self):
    with tempfile.TemporaryDirectory() as d:
      self._write(d, "cifar100.tar.gz", b"x")
      self.assertEqual(readers.list_archives(pathlib.Path(d), "cifar10"), [])
      self.assertLen(readers.list_archives(pathlib.Path(d), "cifar100"), 1)


if __name__ == "__main__":
  tf.test.main()
