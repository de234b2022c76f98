"""Datasets that are not registered: tfds:<name>, a .npz of any shape and class count, a
class-folder image tree and its archive; each recorded with its name and fingerprint."""

import os
import pathlib
import tarfile
import tempfile
import time
from unittest import mock

import numpy as np
import tensorflow as tf
from PIL import Image

from conftest import MNIST_NPZ, synthetic_images
from sensitivity_tf import data
from sensitivity_tf.data import registry
from sensitivity_tf.data import sources
from sensitivity_tf.data import validation


def write_npz(path, shape=(8, 8), classes=4, n_train=40, n_test=20):
  x_train, y_train = synthetic_images(n_train, shape, classes, seed=0)
  x_test, y_test = synthetic_images(n_test, shape, classes, seed=1)
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  return (x_train, y_train), (x_test, y_test)


def write_tree(root, classes=("cat", "dog", "owl"), per_class=3, size=(5, 6)):
  root = pathlib.Path(root)
  for split in ("train", "test"):
    for c, name in enumerate(classes):
      folder = root / split / name
      folder.mkdir(parents=True)
      for i in range(per_class):
        pixels = np.full(size + (3,), 40 * c + i, np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
  return root


class OwnDataTest(tf.test.TestCase):

  def test_npz_of_a_new_shape_and_class_count(self):
    with tempfile.TemporaryDirectory() as d:
      path = str(pathlib.Path(d) / "grey8.npz")
      train, test = write_npz(path)
      ds = data.load(path)
    self.assertEqual(ds.name, path)
    self.assertEqual(ds.image_shape, (8, 8, 1))
    self.assertEqual(ds.num_classes, 4)
    self.assertEqual(ds.x_train.shape, (40, 64))
    self.assertAllClose(ds.x_test[0], test[0][0].reshape(-1) / 255.0)
    described = ds.describe()
    self.assertEqual(described["name"], path)
    self.assertEqual(described["fingerprint"], validation.fingerprint(
        (train[0][..., None], train[1]), (test[0][..., None], test[1])))
    self.assertTrue(described["source"].startswith("npz:"))

  def test_class_folder_tree_and_its_archive(self):
    with tempfile.TemporaryDirectory() as d:
      root = write_tree(pathlib.Path(d) / "animals")
      tree = data.load(str(root))
      archive = pathlib.Path(d) / "animals.tar.gz"
      with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="animals")
      # Its own decoded-archive cache: the session's is counted by test_datasets.
      with mock.patch.dict(os.environ, {"SENSITIVITY_TF_CACHE": str(pathlib.Path(d, "cache"))}):
        packed = data.load(str(archive))
    for ds in (tree, packed):
      self.assertEqual(ds.spec.class_names, ("cat", "dog", "owl"))
      self.assertEqual(ds.image_shape, (5, 6, 3))
      self.assertAllEqual(ds.y_test, [0, 0, 0, 1, 1, 1, 2, 2, 2])
      # Class c, file i has every pixel 40 c + i.
      self.assertAllClose(ds.x_test[:, 0] * 255, [0, 1, 2, 40, 41, 42, 80, 81, 82], atol=1e-4)
    self.assertEqual(tree.fingerprint, packed.fingerprint)
    self.assertTrue(packed.source.startswith("archive:"))

  def test_bad_sources_fail_in_one_line_naming_them(self):
    with self.assertRaisesRegex(ValueError, "unknown dataset 'nowhere.npz'.*allowed: mnist"):
      data.load("nowhere.npz")
    with tempfile.TemporaryDirectory() as d:
      bad = pathlib.Path(d) / "labels.npz"
      x = np.zeros((4, 3, 3), np.uint8)
      np.savez(bad, x_train=x, y_train=np.array([0, 1.5, 0, 1]), x_test=x, y_test=np.zeros(4))
      with self.assertRaisesRegex(data.DataError, f"{bad}.*"):
        data.load(str(bad))
      text = pathlib.Path(d) / "notes.txt"
      text.write_text("hello")
      with self.assertRaisesRegex(data.DataError, "notes.txt: not a .npz file"):
        data.load(str(text))

  def test_registered_names_unchanged(self):
    for name in registry.DATASETS:
      self.assertEqual(registry.check_name(name), name)
    spec, train, _, source = sources.load_source("mnist", data_dir=str(MNIST_NPZ))
    self.assertIs(spec, registry.DATASETS["mnist"])
    self.assertEqual(train[0].shape, (60000, 28, 28, 1))
    self.assertEqual(source, f"npz:{MNIST_NPZ}")


class TfdsTest(tf.test.TestCase):

  def test_any_tfds_dataset_through_mock_data(self):
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=12):
      ds = data.load("tfds:mnist")
    self.assertEqual(ds.name, "tfds:mnist")
    self.assertEqual(ds.image_shape, (28, 28, 1))
    self.assertEqual(ds.num_classes, 10)
    self.assertEqual(ds.x_train.shape, (12, 784))
    self.assertTrue(ds.source.startswith("tfds:mnist"))
    self.assertLen(ds.fingerprint, len(validation.fingerprint(
        (np.zeros((1, 1, 1, 1), np.uint8), np.zeros(1)),
        (np.zeros((1, 1, 1, 1), np.uint8), np.zeros(1)))))

  def test_missing_prepared_copy_offline_fails_fast(self):
    # mock_data never takes this path: a real TFDS lookup in an empty data dir, no network.
    with tempfile.TemporaryDirectory() as d:
      start = time.time()
      with self.assertRaisesRegex(data.DataError, "tfds:kmnist: not prepared locally"):
        data.load("tfds:kmnist", tfds_data_dir=d, tfds_download=False)
      with self.assertRaisesRegex(data.DataError, "tfds:kmnist: not prepared locally"):
        data.load("tfds:kmnist", tfds_data_dir=d)
      self.assertLess(time.time() - start, 30)


if __name__ == "__main__":
  tf.test.main()
