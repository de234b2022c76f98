"""Shared test fixtures: where the real offline data lives, and small synthetic datasets."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# tf.test.TestCase carries a deprecated `test_session` context manager that pytest would
# collect and report as a skipped test; it is not a test.
tf.test.TestCase.test_session.__test__ = False

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_NPZ = SHARED_DATA / "mnist.npz"
CIFAR10_ARCHIVE = SHARED_DATA / "cifar10-jpeg.tar.gz"
FASHION_DEBIAN = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
  """Decoded-archive cache in a session temp dir, so tests never touch ~/.cache; one
  decoding of the CIFAR-10 archive is shared by every test that needs it."""
  os.environ["SENSITIVITY_TF_CACHE"] = str(tmp_path_factory.mktemp("cache"))
  os.environ.pop("SENSITIVITY_TF_DATA_DIR", None)


def synthetic_images(n, image_shape=(4, 4, 1), num_classes=3, seed=0):
  """uint8 images whose class is readable from the mean brightness (linearly separable)."""
  rng = np.random.default_rng(seed)
  y = np.arange(n) % num_classes
  base = (y[:, None] * (200 // max(num_classes - 1, 1))).astype(np.float64)
  x = base + rng.integers(0, 40, size=(n, int(np.prod(image_shape))))
  return np.clip(x, 0, 255).astype(np.uint8).reshape((n,) + tuple(image_shape)), y


def tiny_dataset(n_train=60, n_test=30, image_shape=(4, 4, 1), num_classes=3, seed=0, **options):
  from sensitivity_tf.data import preprocessing
  from sensitivity_tf.data import registry
  spec = registry.DatasetSpec("tiny", tuple(image_shape), num_classes, n_train, n_test, "tiny",
                              tuple(str(i) for i in range(num_classes)))
  train = synthetic_images(n_train, image_shape, num_classes, seed)
  test = synthetic_images(n_test, image_shape, num_classes, seed + 1)
  return preprocessing.preprocess(spec, train, test, "synthetic", **options)


def run_bin(name, *args, timeout=600):
  """Runs bin/<name> in a subprocess from the repository root, importing this checkout's
  package (not whichever copy is installed)."""
  env = dict(os.environ, PYTHONUNBUFFERED="1",
             PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
  return subprocess.run([sys.executable, str(REPO / "bin" / name), *args], capture_output=True,
                        text=True, timeout=timeout, env=env, cwd=REPO)


def assert_one_line_error(test, proc, message):
  """Exit status 2 and exactly one stderr line, containing ``message``, no traceback."""
  test.assertEqual(proc.returncode, 2, proc.stderr)
  lines = proc.stderr.strip().splitlines()
  test.assertLen(lines, 1, proc.stderr)
  test.assertIn(message, lines[0])
  test.assertNotIn("Traceback", proc.stderr)
