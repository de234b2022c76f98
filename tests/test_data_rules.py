"""What a dataset of one's own may hold, and what is refused (issue 22, items 1, 2, 6, 7 and
the data parts of 8 and 10; docs/data.md "What is refused and why"): class labels from
sorted folder names only, hidden entries ignored, empty classes and stray files refused, the
same classes from a folder and from its archive, 16-bit and grayscale PNGs decoded at their
own depth, labels dense enough to be a classification, images with pixels, one-hot labels
named, and --data_dir never ignored in silence."""

import json
import os
import pathlib
import tarfile
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import assert_one_line_error, run_bin, synthetic_images
from sensitivity_tf import data
from sensitivity_tf.data import sources
from sensitivity_tf.data import validation
from sensitivity_tf.data.validation import DataError

TRAIN = ["--depth=1", "--width=8", "--max_steps=2", "--eval_every=2", "--noprogress"]


def save_png(path, pixels):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(pixels).save(path)


def numeric_tree(root, brightness, per_class=(3, 2), size=(4, 5)):
  """train/<name>/*.png and test/<name>/*.png, one grey level per class: ``brightness`` maps
  a folder name to its level."""
  root = pathlib.Path(root)
  for split, count in zip(("train", "test"), per_class):
    for name, level in brightness.items():
      for i in range(count):
        save_png(root / split / name / f"{i}.png", np.full(size, level + i, np.uint8))
  return root


def archive_of(root, path):
  with tarfile.open(path, "w:gz") as tar:
    tar.add(root, arcname=pathlib.Path(root).name)
  return str(path)


class ClassFoldersTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_numeric_folders_get_sorted_string_labels_recorded_with_the_run(self):
    levels = {"1": 10, "2": 100, "10": 200}
    with tempfile.TemporaryDirectory() as d:
      tree = numeric_tree(pathlib.Path(d, "digits"), levels)
      ds = data.load(str(tree))
      run = pathlib.Path(d, "run")
      proc = run_bin("train", f"--dataset={tree}", f"--output_dir={run}", *TRAIN)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      recorded = json.loads((run / "config.json").read_text())["data"]
    # One rule: labels are positions in the folder names sorted as strings.
    self.assertEqual(list(ds.spec.class_names), ["1", "10", "2"])
    self.assertEqual(recorded["class_names"], ["1", "10", "2"])
    self.assertAllEqual(np.bincount(ds.y_train, minlength=3), [3, 3, 3])
    self.assertAllEqual(np.bincount(ds.y_test, minlength=3), [2, 2, 2])
    for label, name in enumerate(["1", "10", "2"]):  # each folder's grey level, exactly
      pixels = ds.x_train[ds.y_train == label] * 255
      self.assertAllClose(pixels.min(), levels[name], atol=1e-3)
      self.assertAllClose(pixels.max(), levels[name] + 2, atol=1e-3)

  def test_hidden_entries_are_ignored_and_folder_and_archive_agree(self):
    with tempfile.TemporaryDirectory() as d:
      tree = numeric_tree(pathlib.Path(d, "pets"), {"cat": 20, "dog": 90})
      stray = np.full((4, 5), 250, np.uint8)
      for split in ("train", "test"):
        save_png(tree / split / ".ipynb_checkpoints" / "0-checkpoint.png", stray)
        save_png(tree / split / "cat" / "._0.png", stray)  # macOS resource fork
      (tree / "train" / "dog" / ".DS_Store").write_bytes(b"\0\1")
      archive = archive_of(tree, pathlib.Path(d, "pets.tar.gz"))
      spec_dir, train_dir, test_dir, _ = sources.load_source(str(tree))
      spec_tar, train_tar, test_tar, _ = sources.load_source(archive)
    self.assertEqual(spec_dir.class_names, ("cat", "dog"))
    self.assertEqual(spec_tar.class_names, ("cat", "dog"))
    self.assertEqual(validation.fingerprint(train_dir, test_dir),
                     validation.fingerprint(train_tar, test_tar))
    self.assertLen(train_dir[0], 6)  # 3 + 3: no hidden image read
    self.assertLess(train_dir[0].max(), 250)

  @pytest.mark.slow
  def test_an_empty_class_folder_is_refused_by_name(self):
    with tempfile.TemporaryDirectory() as d:
      tree = numeric_tree(pathlib.Path(d, "pets"), {"cat": 20, "dog": 90})
      (tree / "train" / "empty").mkdir()
      proc = run_bin("train", f"--dataset={tree}", f"--output_dir={d}/run", *TRAIN)
      assert_one_line_error(self, proc, "train/empty holds no images")
      self.assertFalse(pathlib.Path(d, "run").exists())
      (tree / "train" / "empty").rmdir()
      (tree / "train" / "notes").mkdir()
      (tree / "train" / "notes" / "README.txt").write_text("not an image")
      archive = archive_of(tree, pathlib.Path(d, "pets.tar.gz"))
      for source in (str(tree), archive):  # the same refusal from the folder and the archive
        with self.assertRaisesRegex(DataError, r"train/notes/README.txt: not an image file "
                                    r"\(allowed: \.jpg"):
          data.load(source)

  def test_test_classes_must_be_training_classes(self):
    with tempfile.TemporaryDirectory() as d:
      tree = numeric_tree(pathlib.Path(d, "pets"), {"cat": 20, "dog": 90})
      save_png(tree / "test" / "owl" / "0.png", np.zeros((4, 5), np.uint8))
      with self.assertRaisesRegex(DataError, r"test/owl is not a class of train/ "
                                  r"\(classes: cat, dog\)"):
        data.load(str(tree))


class ImageDecodingTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_16_bit_pngs_are_scaled_from_their_range_and_grey_stays_one_channel(self):
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
      tree = pathlib.Path(d, "deep")
      expected = {}
      for split, count in (("train", 4), ("test", 2)):
        xs, ys = [], []
        for label, name in enumerate(("a", "b")):
          for i in range(count):
            pixels = rng.integers(0, 256, size=(6, 5)).astype(np.uint8)
            if i % 2:  # 16-bit: v * 257 spans 0..65535 exactly as v spans 0..255
              save_png(tree / split / name / f"{i}.png", pixels.astype(np.uint16) * 257)
            else:      # 8-bit grey
              save_png(tree / split / name / f"{i}.png", pixels)
            xs.append(pixels[..., None])
            ys.append(label)
        expected[split] = (np.stack(xs), np.array(ys, np.int64))
      self.assertEqual(Image.open(tree / "train" / "a" / "1.png").mode, "I;16")
      run = pathlib.Path(d, "run")
      proc = run_bin("train", f"--dataset={tree}", f"--output_dir={run}", *TRAIN)
      self.assertEqual(proc.returncode, 0, proc.stderr)
      recorded = json.loads((run / "config.json").read_text())["data"]
    self.assertEqual(recorded["image_shape"], [6, 5, 1])
    self.assertEqual(recorded["fingerprint"],
                     validation.fingerprint(expected["train"], expected["test"]))


class LabelRulesTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_sparse_or_huge_labels_are_refused_with_numbers(self):
    for top in (10**6, 10**9):
      with tempfile.TemporaryDirectory() as d:
        x, y = synthetic_images(20, (4, 4), 3)
        y = y.astype(np.int64)
        y[0] = top
        path = os.path.join(d, "sparse.npz")
        np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[1:7])
        proc = run_bin("train", f"--dataset={path}", f"--output_dir={d}/run", *TRAIN,
                       timeout=120)
        assert_one_line_error(self, proc, f"labels take 4 distinct values but go up to {top}")
        self.assertIn("allowed: a largest label below 2 x the number of distinct labels "
                      "(here 8) and at most 100000 classes", proc.stderr)

  def test_a_label_gap_within_the_rule_keeps_its_empty_classes(self):
    with tempfile.TemporaryDirectory() as d:
      x, y = synthetic_images(20, (4, 4), 3)
      y = np.where(y == 2, 4, y)  # labels 0, 1, 4: 5 classes, 3 occur (5 < 2 x 3)
      path = os.path.join(d, "gap.npz")
      np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
      ds = data.load(path)
    self.assertEqual(ds.num_classes, 5)

  @pytest.mark.slow
  def test_one_hot_labels_are_named(self):
    with tempfile.TemporaryDirectory() as d:
      x, y = synthetic_images(20, (4, 4), 3)
      path = os.path.join(d, "onehot.npz")
      np.savez(path, x_train=x, y_train=np.eye(3)[y], x_test=x[:6], y_test=np.eye(3)[y[:6]])
      proc = run_bin("train", f"--dataset={path}", f"--output_dir={d}/run", *TRAIN)
      assert_one_line_error(self, proc, "y_train has shape (20, 3): one-hot labels?")

  @pytest.mark.slow
  def test_images_without_pixels_are_refused(self):
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "empty_images.npz")
      np.savez(path, x_train=np.zeros((6, 0, 0), np.uint8), y_train=np.arange(6) % 2,
               x_test=np.zeros((2, 0, 0), np.uint8), y_test=np.arange(2))
      proc = run_bin("train", f"--dataset={path}", f"--output_dir={d}/run", *TRAIN)
      assert_one_line_error(self, proc, "x_train holds images of shape (0, 0, 1) without "
                            "pixels; allowed: height, width and channels >= 1")

  @pytest.mark.slow
  def test_data_dir_with_a_path_dataset_is_refused_not_ignored(self):
    with tempfile.TemporaryDirectory() as d:
      x, y = synthetic_images(20, (4, 4), 3)
      path = os.path.join(d, "own.npz")
      np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=y[:6])
      proc = run_bin("train", f"--dataset={path}", f"--data_dir={d}", f"--output_dir={d}/run",
                     *TRAIN)
      assert_one_line_error(self, proc, f"data_dir={d} has no effect with dataset '{path}'")


if __name__ == "__main__":
  tf.test.main()
