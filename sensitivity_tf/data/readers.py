"""Readers for local copies of the image datasets, with validation.

Three on-disk layouts are understood, each returning images ``(N, H, W, C)`` (uint8, or
float32 in [0, 1] for a float ``.npz``: see `validation`) and integer labels ``(N,)``:

* the original **IDX** files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``), as published for MNIST
  and Fashion-MNIST and as installed by Debian's ``dataset-fashion-mnist``;
* a **Keras-layout ``.npz``** with ``x_train, y_train, x_test, y_test``;
* a **class-folder image tree** ``train/<class>/*`` and ``test/<class>/*`` (for example the
  CIFAR-10 JPEG copy), either as a directory or inside a ``.tar``/``.tar.gz`` archive. Images
  are read in class order, then file-name order within a class. An archive is read member
  by member (never extracted), and the decoded arrays are cached as ``.npz`` in the cache
  directory (``$SENSITIVITY_TF_CACHE``, default ``~/.cache/sensitivity_tf``), keyed by the
  archive's SHA-256, so that the ~25 s of JPEG decoding happens once per machine.

Every problem with a file (truncated, wrong magic number, wrong shape, labels out of range,
counts that disagree, pixels or labels that are not what they claim: `validation`) raises
`DataError` with a one-line message naming the file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pathlib
import tarfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from sensitivity_tf.data import validation
from sensitivity_tf.data.validation import DataError, Split
from sensitivity_tf.store import atomic

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def cache_dir() -> pathlib.Path:
  """Where decoded archives are cached (created on first use)."""
  root = os.environ.get("SENSITIVITY_TF_CACHE") or os.path.join(
      os.path.expanduser("~"), ".cache", "sensitivity_tf")
  path = pathlib.Path(root)
  path.mkdir(parents=True, exist_ok=True)
  return path


# ----------------------------------------------------------------------------- IDX
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_idx_files(directory: pathlib.Path) -> Optional[Dict[str, pathlib.Path]]:
  """The four IDX files in ``directory`` (plain or ``.gz``), or None if any is missing."""
  found = {}
  for key, stem in IDX_FILES.items():
    for candidate in (directory / stem, directory / (stem + ".gz")):
      if candidate.is_file():
        found[key] = candidate
        break
    else:
      return None
  return found


def read_idx(path: pathlib.Path) -> np.ndarray:
  """Reads one IDX file (uint8 payload), checking the header against the file size."""
  try:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError) as e:  # gzip raises these on truncation or corruption
    raise DataError(f"{path}: cannot be read ({e})") from None
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
    raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
  ndim = raw[3]
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise DataError(f"{path}: truncated IDX header")
  dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
  expected = header + int(np.prod(dims))
  if len(raw) != expected:
    raise DataError(
        f"{path}: truncated or oversized IDX file: {len(raw)} bytes, header {dims} "
        f"needs {expected}")
  return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_dataset(files: Dict[str, pathlib.Path]) -> Tuple[Split, Split]:
  x_train, y_train = read_idx(files["train_images"]), read_idx(files["train_labels"])
  x_test, y_test = read_idx(files["test_images"]), read_idx(files["test_labels"])
  for key, x in (("train_images", x_train), ("test_images", x_test)):
    if x.ndim != 3:
      raise DataError(f"{files[key]}: expected 3-D images (N, H, W), got shape {x.shape}")
  for key, y in (("train_labels", y_train), ("test_labels", y_test)):
    if y.ndim != 1:
      raise DataError(f"{files[key]}: expected 1-D labels, got shape {y.shape}")
  return (x_train[..., None], y_train), (x_test[..., None], y_test)


# ----------------------------------------------------------------------------- npz
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_npz(path: pathlib.Path) -> Tuple[Split, Split]:
  """Reads a Keras-layout ``.npz`` (images may be (N,H,W) or (N,H,W,C)); pixels and labels
  are checked by `validation.check_split` (integer pixels 0..255 or floats in [0, 1])."""
  try:
    with np.load(path, allow_pickle=False) as f:
      missing = [k for k in NPZ_KEYS if k not in f.files]
      if missing:
        raise DataError(f"{path}: missing arrays {missing}; a dataset .npz needs {list(NPZ_KEYS)}")
      arrays = {k: np.asarray(f[k]) for k in NPZ_KEYS}
  except DataError:
    raise
  except Exception as e:  # zipfile.BadZipFile, EOFError, ValueError on truncation
    raise DataError(f"{path}: cannot be read as .npz ({type(e).__name__}: {e})") from None
  out = []
  for split in ("train", "test"):
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"].reshape(-1)
    if x.ndim == 3:
      x = x[..., None]
    if x.ndim != 4:
      raise DataError(f"{path}: x_{split} has shape {x.shape}; expected (N, H, W[, C])")
    out.append((x, y))
  return validation.check_split(out[0], out[1], str(path))


# ----------------------------------------------------------------------------- image tree
def _decode_image(data: bytes, name: str) -> np.ndarray:
  from PIL import Image  # Pillow: only needed for image trees
  try:
    with Image.open(io.BytesIO(data)) as img:
      arr = np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)
  except Exception as e:
    raise DataError(f"{name}: cannot be decoded as an image ({e})") from None
  return arr if arr.ndim == 3 else arr[..., None]


def _tree_key(parts: Sequence[str]) -> Optional[Tuple[str, str, str]]:
  """(split, class, file) for a path ending in train|test/<class>/<file>, else None."""
  if len(parts) < 3 or parts[-3] not in ("train", "test"):
    return None
  if not parts[-1].lower().endswith(IMAGE_SUFFIXES):
    return None
  return parts[-3], parts[-2], parts[-1]


def _assemble_tree(entries: Dict[Tuple[str, str, str], np.ndarray], class_names: Sequence[str],
                   where: str) -> Tuple[Split, Split]:
  out = []
  for split in ("train", "test"):
    keys = sorted(k for k in entries if k[0] == split)
    found = sorted({k[1] for k in keys})
    # A class folder is named by the class name or by the label's decimal index.
    index = {c: i for i, c in enumerate(class_names)}
    index.update({str(i): i for i in range(len(class_names))})
    unknown = sorted(set(found) - set(index))
    if unknown or not keys:
      raise DataError(f"{where}: {split}/ has class folders {found}; expected "
                      f"{list(class_names)} or 0..{len(class_names) - 1}")
    keys.sort(key=lambda k: (index[k[1]], k[2]))  # class order, then file order
    images = [entries[k] for k in keys]
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
      raise DataError(f"{where}: {split}/ images have different shapes {sorted(shapes)}")
    out.append((np.stack(images), np.array([index[k[1]] for k in keys], np.int64)))
  return out[0], out[1]


def read_image_tree(root: pathlib.Path, class_names: Sequence[str]) -> Tuple[Split, Split]:
  """Reads ``root/train/<class>/*`` and ``root/test/<class>/*`` (not cached: a tree on
  disk is the user's own and may change)."""
  entries = {}
  for path in root.glob("*/*/*"):
    key = _tree_key(path.relative_to(root).parts)
    if key is not None and path.is_file():
      entries[key] = _decode_image(path.read_bytes(), str(path))
  return _assemble_tree(entries, class_names, str(root))


def read_class_folders(path: pathlib.Path) -> Tuple[Tuple[Split, Split], Tuple[str, ...]]:
  """An image tree (directory or archive) of one's own, whose classes are its ``train/``
  folders in sorted order (numerically when all are numbers): the splits and the class
  names."""
  if path.is_dir():
    folders = {p.name for p in (path / "train").iterdir() if p.is_dir()}
  else:
    try:
      with tarfile.open(path, "r:*") as tar:
        folders = {key[1] for key in (_tree_key(pathlib.PurePosixPath(m.name).parts)
                                      for m in tar if m.isfile()) if key and key[0] == "train"}
    except (tarfile.TarError, EOFError, OSError) as e:
      raise DataError(f"{path}: cannot be read as a tar archive ({e})") from None
  numeric = all(f.isdigit() for f in folders)
  names = tuple(sorted(folders, key=(lambda f: (int(f), f)) if numeric else None))
  if len(names) < 2:
    raise DataError(f"{path}: train/ has class folders {list(names)}; need at least 2 classes")
  if path.is_dir():
    return read_image_tree(path, names), names
  return read_image_archive(path, names), names


def has_image_tree(root: pathlib.Path) -> bool:
  return (root / "train").is_dir() and (root / "test").is_dir()


def file_sha256(path: pathlib.Path) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


def read_image_archive(path: pathlib.Path, class_names: Sequence[str]) -> Tuple[Split, Split]:
  """Reads an image tree inside a tar archive; decoded once, then served from the cache."""
  cached = cache_dir() / f"image_tree_{file_sha256(path)[:32]}.npz"
  if cached.is_file():
    try:
      return read_npz(cached)
    except DataError:
      cached.unlink()  # a damaged cache entry is rebuilt, never trusted
  entries = {}
  try:
    with tarfile.open(path, "r:*") as tar:
      for member in tar:
        if not member.isfile():
          continue
        key = _tree_key(pathlib.PurePosixPath(member.name).parts)
        if key is not None:
          entries[key] = _decode_image(tar.extractfile(member).read(), f"{path}:{member.name}")
  except (tarfile.TarError, EOFError, OSError) as e:
    raise DataError(f"{path}: cannot be read as a tar archive ({e})") from None
  (x_train, y_train), (x_test, y_test) = _assemble_tree(entries, class_names, str(path))
  atomic.write_npz(cached, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
  return (x_train, y_train), (x_test, y_test)


def is_archive(path: pathlib.Path) -> bool:
  return path.name.endswith((".tar", ".tar.gz", ".tgz"))


def list_archives(directory: pathlib.Path, dataset: str) -> List[pathlib.Path]:
  """Archives named ``<dataset>.tar.gz`` or ``<dataset>-<anything>`` (``cifar10-jpeg.tar.gz``).

  ``cifar100.tar.gz`` is not an archive of ``cifar10``: the dataset name must be followed
  by a separator or the suffix.
  """
  out = []
  for p in directory.glob(f"{dataset}*"):
    rest = p.name[len(dataset):]
    if p.is_file() and is_archive(p) and (rest[:1] in ("-", "_", ".")):
      out.append(p)
  return sorted(out)
