"""Readers for local copies of the image datasets, with validation.

Three on-disk layouts are understood, each returning images ``(N, H, W, C)`` (uint8, or
float32 in [0, 1] for a float ``.npz``: see `validation`) and integer labels ``(N,)``:

* the original **IDX** files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``), as published for MNIST
  and Fashion-MNIST and as installed by Debian's ``dataset-fashion-mnist``;
* a **Keras-layout ``.npz``** with ``x_train, y_train, x_test, y_test``;
* a **class-folder image tree** ``train/<class>/*`` and ``test/<class>/*`` (for example the
  CIFAR-10 JPEG copy), either as a directory or inside a ``.tar``/``.tar.gz`` archive, both
  read by the same rules (`_TreeScan`: hidden entries ignored, empty class folders and stray
  files refused; `_decode_image`: grey stays one channel, 16-bit scaled from 0..65535).
  A tree of one's own has the classes of its ``train/`` folder names sorted as strings.
  Images are read in class order, then file-name order within a class. An archive is read
  member by member (never extracted), and the decoded arrays are cached as ``.npz`` in the
  cache directory (``$SENSITIVITY_TF_CACHE``, default ``~/.cache/sensitivity_tf``), keyed by
  the archive's SHA-256, the rules' version and the class names, so that the ~25 s of JPEG
  decoding happens once per machine.

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
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if y.ndim > 1 and int(np.prod(y.shape[1:])) > 1:
      raise DataError(f"{path}: y_{split} has shape {y.shape}: one-hot labels? allowed: integer "
                      f"class indices of shape (N,) or (N, 1) (np.argmax(y, axis=1) gives them)")
    y = y.reshape(-1)
    if x.ndim == 3:
      x = x[..., None]
    if x.ndim != 4:
      raise DataError(f"{path}: x_{split} has shape {x.shape}; expected (N, H, W[, C])")
    out.append((x, y))
  return validation.check_split(out[0], out[1], str(path))


# ----------------------------------------------------------------------------- image tree
SPLITS = ("train", "test")
# Pillow modes read as they are: one grey channel (8-bit, 1-bit, grey + alpha) or RGB.
GREY_MODES = ("L", "1", "LA")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
REFUSED_MODES = {"I": "32-bit integer pixels", "F": "32-bit float pixels"}


def _decode_image(data: bytes, name: str) -> np.ndarray:
  """(H, W, C) uint8 pixels of one image file [ours: the conversions]: grey images (8-bit,
  1-bit, grey + alpha) stay one channel, their alpha dropped; **16-bit** grey images are
  scaled from their own range 0..65535 to 0..255 (value / 257, rounded: exact for 8-bit
  values stored as 16-bit); everything else (palette, RGBA, CMYK, ...) becomes RGB, alpha
  dropped. 32-bit integer or float images are refused by name."""
  from PIL import Image  # Pillow: only needed for image trees
  try:
    with Image.open(io.BytesIO(data)) as img:
      mode = img.mode
      if mode in REFUSED_MODES:
        raise DataError(f"{name}: image mode {mode} ({REFUSED_MODES[mode]}) is not supported; "
                        "allowed: 8-bit or 16-bit grey, RGB, RGBA or palette images")
      if mode in SIXTEEN_BIT_MODES:
        wide = np.asarray(img).astype(np.uint32)
        arr = ((wide * 255 + 32767) // 65535).astype(np.uint8)  # round(v * 255 / 65535)
      elif mode in GREY_MODES:
        arr = np.asarray(img.convert("L"))
      else:
        arr = np.asarray(img if mode == "RGB" else img.convert("RGB"))
  except DataError:
    raise
  except Exception as e:
    raise DataError(f"{name}: cannot be decoded as an image ({e})") from None
  return arr if arr.ndim == 3 else arr[..., None]


class _TreeScan:
  """What a class-folder tree holds, read by one set of rules whether it is a directory or an
  archive [ours, docs/data.md]: under ``train/`` and ``test/`` (in an archive, after any
  leading folders), every directory is a class folder and every file in one an image;
  entries whose name starts with "." (``.ipynb_checkpoints``, ``.DS_Store``, ``._x.png``)
  are ignored at any depth. Refused (`DataError`, naming the entry): an image directly in
  ``train/`` or ``test/``, a non-image file or a folder inside a class folder."""

  def __init__(self, where: str):
    self.where = where
    self.folders = {split: set() for split in SPLITS}
    self.images: Dict[Tuple[str, str, str], np.ndarray] = {}

  def add(self, parts: Sequence[str], is_dir: bool, read=None) -> None:
    """One entry, by its path ``parts``; ``read()`` returns a file's bytes."""
    parts = [p for p in parts if p not in ("", ".")]
    top = next((i for i, p in enumerate(parts) if p in SPLITS), None)
    if top is None:
      return  # outside the tree (a README beside train/ and test/)
    rel = parts[top:]
    if any(p.startswith(".") for p in rel):
      return
    where = "/".join(rel)
    if len(rel) == 2:
      if is_dir:
        self.folders[rel[0]].add(rel[1])
      elif rel[1].lower().endswith(IMAGE_SUFFIXES):
        raise DataError(f"{self.where}: {where}: an image outside a class folder; put it in "
                        f"{rel[0]}/<class>/")
    elif len(rel) >= 3:
      self.folders[rel[0]].add(rel[1])
      if len(rel) > 3 or is_dir:
        raise DataError(f"{self.where}: {'/'.join(rel[:3])}: a folder inside a class folder; "
                        "allowed: image files directly in each class folder")
      if not rel[2].lower().endswith(IMAGE_SUFFIXES):
        raise DataError(f"{self.where}: {where}: not an image file (allowed: "
                        f"{', '.join(IMAGE_SUFFIXES)}; entries starting with '.' are ignored)")
      self.images[(rel[0], rel[1], rel[2])] = _decode_image(read(), f"{self.where}:{where}")

  def class_names(self) -> Tuple[str, ...]:
    """The classes of a tree of one's own: ``train/``'s folder names sorted as strings
    (label i is the i-th name: ``1, 10, 2`` for folders 1, 2 and 10)."""
    names = tuple(sorted(self.folders["train"]))
    if len(names) < 2:
      raise DataError(f"{self.where}: train/ has class folders {list(names)}; need at least 2 "
                      "classes")
    return names


def _scan_directory(root: pathlib.Path) -> _TreeScan:
  scan = _TreeScan(str(root))
  for split in SPLITS:
    for folder, dirs, files in os.walk(root / split):
      dirs[:] = [d for d in dirs if not d.startswith(".")]
      rel = pathlib.Path(folder).relative_to(root).parts
      for d in dirs:
        scan.add((*rel, d), True)
      for f in sorted(files):
        path = pathlib.Path(folder, f)
        scan.add((*rel, f), False, path.read_bytes)
  return scan


def _scan_archive(path: pathlib.Path) -> _TreeScan:
  scan = _TreeScan(str(path))
  try:
    with tarfile.open(path, "r:*") as tar:
      for member in tar:
        if member.isdir() or member.isfile():
          scan.add(pathlib.PurePosixPath(member.name).parts, member.isdir(),
                   lambda m=member: tar.extractfile(m).read())
  except (tarfile.TarError, EOFError, OSError) as e:
    raise DataError(f"{path}: cannot be read as a tar archive ({e})") from None
  return scan


def _labels_of(class_names: Sequence[str], own: bool) -> Dict[str, int]:
  """Folder name -> label: the position in ``class_names``; for a registered dataset
  (``own`` False) a folder may also be named by the label's decimal index."""
  index = {c: i for i, c in enumerate(class_names)}
  if not own:
    for i in range(len(class_names)):
      index.setdefault(str(i), i)
  return index


def _assemble_tree(scan: _TreeScan, class_names: Sequence[str], own: bool) -> Tuple[Split, Split]:
  index = _labels_of(class_names, own)
  allowed = ", ".join(class_names) + ("" if own else f" (or 0..{len(class_names) - 1})")
  out = []
  for split in SPLITS:
    if not scan.folders[split]:
      raise DataError(f"{scan.where}: {split}/ has no class folders; expected {split}/<class>/"
                      "<image files>")
    taken: Dict[int, str] = {}
    for folder in sorted(scan.folders[split]):
      if folder not in index:
        raise DataError(f"{scan.where}: {split}/{folder} is not a class of "
                        f"{'train/' if own else 'this dataset'} (classes: {allowed})")
      if index[folder] in taken:
        raise DataError(f"{scan.where}: {split}/{taken[index[folder]]} and {split}/{folder} "
                        f"both name class {index[folder]}; keep one")
      taken[index[folder]] = folder
      if not any(k[0] == split and k[1] == folder for k in scan.images):
        raise DataError(f"{scan.where}: {split}/{folder} holds no images (allowed: "
                        f"{', '.join(IMAGE_SUFFIXES)}); remove the folder or add its images")
    keys = sorted((k for k in scan.images if k[0] == split), key=lambda k: (index[k[1]], k[2]))
    images = [scan.images[k] for k in keys]  # class order, then file-name order
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
      raise DataError(f"{scan.where}: {split}/ images have different shapes {sorted(shapes)}")
    out.append((np.stack(images), np.array([index[k[1]] for k in keys], np.int64)))
  return out[0], out[1]


def read_image_tree(root: pathlib.Path, class_names: Sequence[str]) -> Tuple[Split, Split]:
  """Reads ``root/train/<class>/*`` and ``root/test/<class>/*`` of a registered dataset
  (not cached: a tree on disk is the user's own and may change)."""
  return _assemble_tree(_scan_directory(root), class_names, own=False)


def read_class_folders(path: pathlib.Path) -> Tuple[Tuple[Split, Split], Tuple[str, ...]]:
  """An image tree (directory or archive) of one's own: the splits and the class names,
  ``train/``'s folder names sorted as strings (`_TreeScan.class_names`). A directory and its
  archive give the same classes and arrays."""
  if path.is_dir():
    scan = _scan_directory(path)
    names = scan.class_names()
    return _assemble_tree(scan, names, own=True), names
  cached = _archive_cache(path, None)
  if cached.is_file():
    try:
      names = tuple(atomic.read_json(cached.with_suffix(".json"))["class_names"])
      return read_npz(cached), names
    except (DataError, OSError, ValueError, KeyError):
      pass  # a damaged cache entry is rebuilt, never trusted
  scan = _scan_archive(path)
  names = scan.class_names()
  splits = _assemble_tree(scan, names, own=True)
  _write_cache(cached, splits, names)
  return splits, names


def has_image_tree(root: pathlib.Path) -> bool:
  return (root / "train").is_dir() and (root / "test").is_dir()


def file_sha256(path: pathlib.Path) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


# Bump when the reading rules change, so that arrays decoded under older rules are not served.
TREE_RULES_VERSION = 2


def _archive_cache(path: pathlib.Path, class_names: Optional[Sequence[str]]) -> pathlib.Path:
  """The cache file of an archive's decoded arrays: keyed by the archive's SHA-256, the
  reading rules' version and the class names (None: of one's own, from its folders)."""
  names = "own" if class_names is None else "\n".join(class_names)
  rules = hashlib.sha256(f"{TREE_RULES_VERSION}|{names}".encode()).hexdigest()[:8]
  return cache_dir() / f"image_tree_{file_sha256(path)[:32]}_{rules}.npz"


def _write_cache(cached: pathlib.Path, splits: Tuple[Split, Split], names) -> None:
  (x_train, y_train), (x_test, y_test) = splits
  atomic.write_json(cached.with_suffix(".json"), dict(class_names=list(names)))
  atomic.write_npz(cached, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def read_image_archive(path: pathlib.Path, class_names: Sequence[str]) -> Tuple[Split, Split]:
  """Reads a registered dataset's image tree inside a tar archive; decoded once, then served
  from the cache."""
  cached = _archive_cache(path, class_names)
  if cached.is_file():
    try:
      return read_npz(cached)
    except DataError:
      cached.unlink()  # a damaged cache entry is rebuilt, never trusted
  splits = _assemble_tree(_scan_archive(path), class_names, own=False)
  _write_cache(cached, splits, class_names)
  return splits


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
