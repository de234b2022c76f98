"""Where a dataset's data comes from.

Sources are tried in this order; the first that holds the dataset is used and recorded in
``Dataset.source``:

1. ``data_dir`` given explicitly (``--data_dir``): a file or a directory, and then the only
   source: one that does not exist or does not hold the dataset is an error, never a fall-back
   to another copy. A file may be a
   Keras-layout ``.npz`` or a ``.tar``/``.tar.gz`` archive of a class-folder image tree. In a
   directory we look, in order, for ``<name>.npz``, the four IDX files, a
   ``train/<class>/``, ``test/<class>/`` image tree, an archive ``<name>.tar.gz`` or
   ``<name>-*.tar.gz`` (e.g. ``cifar10-jpeg.tar.gz``), and the same inside a ``<name>/``
   sub-directory.
2. ``$SENSITIVITY_TF_DATA_DIR``, with the same rules.
3. The Debian package's copy (``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist``), for Fashion-MNIST only.
4. TensorFlow Datasets: prepared data at once, a download only when online
   (`sensitivity_tf.data.tfds_source`).

A source that holds the dataset but whose files are broken stops the search with a
`DataError` naming the file. When no source holds it, one `DataError` lists every place
that was tried and how to provide the data."""

from __future__ import annotations
import os
import pathlib
from typing import List, Optional, Tuple
from sensitivity_tf.data import readers
from sensitivity_tf.data import registry
from sensitivity_tf.data import tfds_source
from sensitivity_tf.data import validation
from sensitivity_tf.data.validation import DataError
from sensitivity_tf.data.validation import Split


DATA_DIR_ENV = "SENSITIVITY_TF_DATA_DIR"


def load_source(name: str, data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None,
                tfds_download: Optional[bool] = None) -> Tuple[registry.DatasetSpec, Split, Split, str]:
  """(spec, train, test, source) of any dataset `registry.check_name` accepts: a registered name (the
  sources of the module docstring), ``tfds:<name>`` (shapes and classes from the TFDS info;
  offline, only a prepared copy in the TFDS data dir is used) or a path (a Keras-layout
  ``.npz`` of any image shape and class count, or a ``train/<class>/``, ``test/<class>/``
  image tree or its archive, classes in sorted folder order). ``data_dir`` applies to
  registered names only: given with any other name it is refused (DataError), never
  ignored."""
  registry.check_name(name)
  if data_dir and name not in registry.DATASETS:
    raise DataError(f"data_dir={data_dir} has no effect with dataset {name!r}, which names its "
                    f"data itself; allowed: data_dir with a registered dataset "
                    f"({', '.join(registry.DATASETS)}), or no data_dir")
  if name in registry.DATASETS:
    return (registry.DATASETS[name], *load_raw(name, data_dir, tfds_data_dir, tfds_download))
  if name.startswith(registry.TFDS_PREFIX):
    tfds_name = name[len(registry.TFDS_PREFIX):]
    train, test, source = tfds_source.load(tfds_name, data_dir=tfds_data_dir,
                                           download=tfds_download)
    class_names = tfds_source.class_names(tfds_name, data_dir=tfds_data_dir)
    train, test = validation.check_split(train, test, source)
    return registry.own_spec(name, train, test, class_names), train, test, source
  path = pathlib.Path(name).expanduser().resolve()
  class_names = None
  if path.is_file() and path.suffix == ".npz":
    train, test = readers.read_npz(path)
    source = f"npz:{path}"
  elif path.is_file() and readers.is_archive(path):
    (train, test), class_names = readers.read_class_folders(path)
    source = f"archive:{path}"
  elif path.is_dir() and readers.has_image_tree(path):
    (train, test), class_names = readers.read_class_folders(path)
    source = f"image_tree:{path}"
  else:
    raise DataError(f"{path}: not a .npz file, a .tar[.gz] archive or a directory with train/ "
                    "and test/ class folders")
  return registry.own_spec(name, train, test, class_names), train, test, source


# ----------------------------------------------------------------------------- sources
def _from_directory(spec: registry.DatasetSpec, root: pathlib.Path,
                    tried: List[str]) -> Optional[Tuple[Split, Split, str]]:
  """Looks for the dataset in ``root`` (a file or directory); None if it is not there."""
  if root.is_file():
    if root.suffix == ".npz":
      return (*readers.read_npz(root), f"npz:{root}")
    if readers.is_archive(root):
      return (*readers.read_image_archive(root, spec.class_names), f"archive:{root}")
    tried.append(f"{root} (not a .npz or .tar[.gz] file)")
    return None
  if not root.is_dir():
    tried.append(f"{root} (does not exist)")
    return None
  for directory in (root, root / spec.name):
    if not directory.is_dir():
      continue
    npz = directory / f"{spec.name}.npz"
    if npz.is_file():
      return (*readers.read_npz(npz), f"npz:{npz}")
    idx = readers.find_idx_files(directory)
    if idx is not None:
      return (*readers.read_idx_dataset(idx), f"idx:{directory}")
    if readers.has_image_tree(directory):
      return (*readers.read_image_tree(directory, spec.class_names), f"image_tree:{directory}")
    for archive in readers.list_archives(directory, spec.name):
      return (*readers.read_image_archive(archive, spec.class_names), f"archive:{archive}")
    tried.append(f"{directory} (no {spec.name}.npz, IDX files, train/ and test/ class "
                 f"folders, or {spec.name}[-*].tar.gz)")
  return None


def check_data_dir(data_dir: str, name: str = "the data") -> pathlib.Path:
  """The resolved ``data_dir``, or DataError (one line) when it does not exist (also what
  ``--dry_run`` checks before planning anything)."""
  root = pathlib.Path(data_dir).expanduser().resolve()
  if not root.exists():
    raise DataError(f"data_dir {data_dir} does not exist; give an existing file or directory "
                    f"holding {name}, or leave --data_dir out to use the default sources")
  return root


def load_raw(name: str, data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None,
             tfds_download: Optional[bool] = None) -> Tuple[Split, Split, str]:
  """Images (uint8, or float32 in [0, 1]) and labels of both splits, and the source they came
  from (checked against the spec by `preprocess`)."""
  spec = registry.get_spec(name)
  tried: List[str] = []
  if data_dir:  # explicit: the only source, never a fallback to another copy
    root = check_data_dir(data_dir, name)
    found = _from_directory(spec, root, tried)
    if found is None:
      raise DataError(f"data_dir {data_dir} holds no {name}: tried " + "; ".join(tried))
    return found
  candidates = []
  if os.environ.get(DATA_DIR_ENV):
    candidates.append(pathlib.Path(os.environ[DATA_DIR_ENV]).expanduser().resolve())
  candidates.extend(pathlib.Path(d) for d in spec.system_dirs)
  for root in candidates:
    found = _from_directory(spec, root, tried)
    if found is not None:
      return found
  try:
    train, test, source = tfds_source.load(spec.tfds_name, data_dir=tfds_data_dir,
                                           download=tfds_download)
  except DataError as e:
    tried.append(str(e))
    hint = ("pass --data_dir=<directory or file> holding the IDX files, a Keras .npz, or a "
            f"train/ test/ class-folder tree (or archive), or set ${DATA_DIR_ENV}")
    if spec.system_dirs:
      hint += ", or install Debian's dataset-fashion-mnist"
    raise DataError(f"no source holds {name}: tried " + "; ".join(tried) + f". To fix: {hint}"
                    ) from None
  return train, test, source
