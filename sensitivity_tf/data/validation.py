"""What a dataset's arrays must hold before anything uses them: pixels and labels.

Every source (IDX, ``.npz``, image trees, TFDS, arrays of one's own passed to
`registry.preprocess`) goes through `check_split`, which raises `DataError` with a one-line
message naming the file (``where``) on anything it cannot take for what it claims to be.

Pixel layouts accepted, decided per file from the values themselves [ours]:

* **integer pixels 0..255**: any integer dtype with every value in 0..255, or a float dtype
  whose values are all whole numbers in 0..255 with at least one above 1 (e.g. MNIST saved
  as float64). Returned as ``uint8``.
* **float pixels in [0, 1]**: a float dtype with every value in [0, 1] (e.g. images already
  divided by 255, a common ``.npz`` layout). Returned as ``float32`` in [0, 1], and used as
  they are (not divided by 255 again). A float array of only 0.0 and 1.0 is taken as this
  layout (1.0 = white).

Both splits of a file must share one layout. Refused: non-finite pixels (NaN, inf), negative
values, integers above 255, floats above 1 that are not whole numbers, and a train/test
mixture of the two layouts.

Labels must be integer class indices: an integer dtype, or a float dtype whose values are all
finite whole numbers (3.0, never 3.7); returned as ``int64``. Their range (0..K-1) is checked
against the dataset by the caller, which knows K.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np


class DataError(ValueError):
  """A dataset file or source that cannot be used; the message names it."""


Split = Tuple[np.ndarray, np.ndarray]


INTEGER_LAYOUT = "integer pixels 0..255"
FLOAT_LAYOUT = "float pixels in [0, 1]"


def pixel_layout(x: np.ndarray, where: str, name: str) -> str:
  """`INTEGER_LAYOUT` or `FLOAT_LAYOUT` for the images ``x`` (array ``name`` of file
  ``where``); DataError if they are neither."""
  if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer)
                                 or np.issubdtype(x.dtype, np.floating)):
    raise DataError(f"{where}: {name} has dtype {x.dtype}; pixels must be integers 0..255 or "
                    "floats in [0, 1]")
  if x.size == 0:
    return INTEGER_LAYOUT
  if np.issubdtype(x.dtype, np.integer):
    low, high = int(x.min()), int(x.max())
    if low < 0 or high > 255:
      raise DataError(f"{where}: {name} has integer pixels in {low}..{high}; allowed: 0..255")
    return INTEGER_LAYOUT
  finite = np.isfinite(x)
  if not finite.all():
    bad = int((~finite).sum())
    raise DataError(f"{where}: {name} has {bad} non-finite pixel value(s) (NaN or inf); "
                    "pixels must be integers 0..255 or floats in [0, 1]")
  low, high = float(x.min()), float(x.max())
  if low < 0:
    raise DataError(f"{where}: {name} has negative pixels (min {low:g}); allowed: integers "
                    "0..255 or floats in [0, 1]")
  if high <= 1.0:
    return FLOAT_LAYOUT
  if high <= 255 and np.array_equal(x, np.round(x)):
    return INTEGER_LAYOUT
  raise DataError(f"{where}: {name} has pixels in {low:g}..{high:g} that are neither whole "
                  "numbers 0..255 nor floats in [0, 1]")


def check_images(x: np.ndarray, where: str, name: str) -> Tuple[np.ndarray, str]:
  """(images as uint8 or float32 per their layout, the layout); see the module docstring."""
  if x.ndim >= 2 and 0 in x.shape[1:]:
    raise DataError(f"{where}: {name} holds images of shape {tuple(x.shape[1:])} without "
                    "pixels; allowed: height, width and channels >= 1")
  layout = pixel_layout(x, where, name)
  if layout == INTEGER_LAYOUT:
    return (x if x.dtype == np.uint8 else x.astype(np.uint8)), layout
  return (x if x.dtype == np.float32 else x.astype(np.float32)), layout


def check_labels(y: np.ndarray, where: str, name: str) -> np.ndarray:
  """Integer class indices as int64; DataError naming the file on anything else."""
  y = np.asarray(y).reshape(-1)
  if np.issubdtype(y.dtype, np.integer) and y.dtype != np.bool_:
    return y.astype(np.int64)
  if not np.issubdtype(y.dtype, np.floating):
    raise DataError(f"{where}: {name} has dtype {y.dtype}; labels must be integer class indices")
  finite = np.isfinite(y)
  if not finite.all():
    raise DataError(f"{where}: {name} has {int((~finite).sum())} non-finite label(s); labels "
                    "must be integer class indices")
  fractional = y != np.round(y)
  if fractional.any():
    raise DataError(f"{where}: {name} has {int(fractional.sum())} non-integer label(s) (e.g. "
                    f"{float(y[fractional][0]):g}); labels must be integer class indices")
  return y.astype(np.int64)


def check_split(train: Tuple[np.ndarray, np.ndarray], test: Tuple[np.ndarray, np.ndarray],
                where: str):
  """Both splits checked and made canonical (uint8 or float32 images, int64 labels); their
  pixel layouts must agree. Returns ``((x_train, y_train), (x_test, y_test))``."""
  (x_train, y_train), (x_test, y_test) = train, test
  x_train, layout_train = check_images(np.asarray(x_train), where, "x_train")
  x_test, layout_test = check_images(np.asarray(x_test), where, "x_test")
  if len(x_train) and len(x_test) and layout_train != layout_test:
    raise DataError(f"{where}: x_train has {layout_train} but x_test has {layout_test}; both "
                    "splits must use one layout")
  return ((x_train, check_labels(y_train, where, "y_train")),
          (x_test, check_labels(y_test, where, "y_test")))


def fingerprint(train: Tuple[np.ndarray, np.ndarray], test: Tuple[np.ndarray, np.ndarray]) -> str:
  """A hash of the (checked, canonical) arrays of both splits: dtype, shape and bytes.

  Recorded with every run at training time, so that evaluating the run on other data (another
  dataset, another copy of it) can be detected. 16 hex digits of SHA-256.
  """
  import hashlib
  h = hashlib.sha256()
  for a in (*train, *test):
    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype.str}{a.shape};".encode())
    h.update(memoryview(a).cast("B"))
  return h.hexdigest()[:16]
