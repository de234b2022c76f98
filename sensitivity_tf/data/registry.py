"""The datasets, registered by name, and where their data comes from.

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
that was tried and how to provide the data.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from sensitivity_tf.data import readers
from sensitivity_tf.data import tfds_source
from sensitivity_tf.data import transforms
from sensitivity_tf.data import validation
from sensitivity_tf.data.readers import DataError, Split

DATA_DIR_ENV = "SENSITIVITY_TF_DATA_DIR"

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")

# The fine labels of CIFAR-100, in the standard label order.
CIFAR100_CLASSES = tuple("""
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly
camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile
cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp
lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree
orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum
rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider
squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train
trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split())
assert len(CIFAR100_CLASSES) == 100


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What a dataset is: shapes, classes, sizes, and where its local copies may live."""

  name: str
  image_shape: Tuple[int, int, int]
  num_classes: int
  num_train: int
  num_test: int
  tfds_name: str
  class_names: Tuple[str, ...]
  system_dirs: Tuple[str, ...] = ()

  @property
  def input_dim(self) -> int:
    return int(np.prod(self.image_shape))


DATASETS: Dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", (28, 28, 1), 10, 60000, 10000, "mnist",
                         tuple(str(i) for i in range(10))),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", (28, 28, 1), 10, 60000, 10000, "fashion_mnist",
        ("T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        system_dirs=("/usr/share/datasets/fashion-mnist",)),
    "cifar10": DatasetSpec("cifar10", (32, 32, 3), 10, 50000, 10000, "cifar10",
                           CIFAR10_CLASSES),
    "cifar100": DatasetSpec("cifar100", (32, 32, 3), 100, 50000, 10000, "cifar100",
                            CIFAR100_CLASSES),
}


TFDS_PREFIX = "tfds:"
ALLOWED_NAMES = (", ".join(DATASETS) + ", tfds:<TFDS image-classification dataset>, or the path "
                 "of a Keras-layout .npz, a train/ test/ class-folder tree or its .tar[.gz]")


def get_spec(name: str) -> DatasetSpec:
  try:
    return DATASETS[name]
  except KeyError:
    raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}") from None


def check_name(name: str) -> str:
  """``name`` if it names a dataset (registered, ``tfds:<name>`` or an existing path);
  DataError (one line) otherwise. Whether the data is usable is checked on loading."""
  if name in DATASETS:
    return name
  if name.startswith(TFDS_PREFIX):
    if len(name) > len(TFDS_PREFIX):
      return name
  elif name and pathlib.Path(name).expanduser().exists():
    return name
  raise DataError(f"unknown dataset {name!r} (not registered, not tfds:<name>, no such file); "
                   f"allowed: {ALLOWED_NAMES}")


def short_name(name: str) -> str:
  """A name for directories: the registered name, ``tfds_<name>``, or the file or directory
  name without its suffixes (``kmnist`` for ``$DATA/kmnist.npz``)."""
  if name in DATASETS:
    return name
  if name.startswith(TFDS_PREFIX):
    return "tfds_" + name[len(TFDS_PREFIX):].replace("/", "_")
  base = pathlib.Path(name).name
  for suffix in (".tar.gz", ".tgz", ".tar", ".npz"):
    if base.endswith(suffix):
      return base[:-len(suffix)]
  return base


def _own_spec(name: str, train: Split, test: Split, class_names=None) -> DatasetSpec:
  """The spec of data that is not registered: shapes from the arrays, classes from the class
  folders or, for a ``.npz``, 0 .. the largest label (at least 2)."""
  if class_names is None:
    top = max(int(train[1].max()) if len(train[1]) else 0,
              int(test[1].max()) if len(test[1]) else 0)
    class_names = tuple(str(i) for i in range(max(top + 1, 2)))
  return DatasetSpec(name, tuple(int(d) for d in train[0].shape[1:]), len(class_names),
                     len(train[0]), len(test[0]), "", tuple(class_names))


def load_source(name: str, data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None,
                tfds_download: Optional[bool] = None) -> Tuple[DatasetSpec, Split, Split, str]:
  """(spec, train, test, source) of any dataset `check_name` accepts: a registered name (the
  sources of the module docstring), ``tfds:<name>`` (shapes and classes from the TFDS info;
  offline, only a prepared copy in the TFDS data dir is used) or a path (a Keras-layout
  ``.npz`` of any image shape and class count, or a ``train/<class>/``, ``test/<class>/``
  image tree or its archive, classes in sorted folder order). ``data_dir`` applies to
  registered names only."""
  check_name(name)
  if name in DATASETS:
    return (DATASETS[name], *load_raw(name, data_dir, tfds_data_dir, tfds_download))
  if name.startswith(TFDS_PREFIX):
    tfds_name = name[len(TFDS_PREFIX):]
    train, test, source = tfds_source.load(tfds_name, data_dir=tfds_data_dir,
                                           download=tfds_download)
    class_names = tfds_source.class_names(tfds_name, data_dir=tfds_data_dir)
    train, test = validation.check_split(train, test, source)
    return _own_spec(name, train, test, class_names), train, test, source
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
  return _own_spec(name, train, test, class_names), train, test, source


@dataclasses.dataclass
class Dataset:
  """A preprocessed dataset, ready for training and for the sensitivity metrics.

  ``x_*`` are float32 ``(N, input_dim)``; ``y_train`` holds the labels actually trained on
  (random ones where labels were randomized), ``y_train_true`` the original labels.
  ``feature_mean``/``feature_std`` are training-set statistics of the inputs as the model
  sees them; ``input_low``/``input_high`` the per-feature range of valid inputs (pixels 0 and
  255 after preprocessing), used to clip random trajectory anchors.
  ``shift``/``scale`` map [0, 1] pixels to model inputs (identity without standardization).
  ``fingerprint`` is a hash of the full raw arrays (`validation.fingerprint`), recorded with
  every run so that an evaluation on other data is detected.
  """

  spec: DatasetSpec
  x_train: np.ndarray
  y_train: np.ndarray
  y_train_true: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  source: str
  shift: np.ndarray
  scale: np.ndarray
  feature_mean: np.ndarray
  feature_std: np.ndarray
  train_indices: np.ndarray  # positions in the full training set (a subset's choice)
  random_label_mask: np.ndarray
  options: dict
  fingerprint: str = ""  # of the full raw arrays (`validation.fingerprint`)
  pixel_layout: str = validation.INTEGER_LAYOUT  # of the raw images (see `validation`)

  @property
  def name(self) -> str:
    return self.spec.name

  @property
  def num_classes(self) -> int:
    return self.spec.num_classes

  @property
  def input_dim(self) -> int:
    return self.spec.input_dim

  @property
  def image_shape(self) -> Tuple[int, int, int]:
    return self.spec.image_shape

  @property
  def input_low(self) -> np.ndarray:
    return (0.0 - self.shift) / self.scale

  @property
  def input_high(self) -> np.ndarray:
    return (1.0 - self.shift) / self.scale

  def describe(self) -> dict:
    """JSON-ready description: source, sizes and every option with its seed."""
    return dict(name=self.name, source=self.source, fingerprint=self.fingerprint,
                pixel_layout=self.pixel_layout, num_train=len(self.x_train),
                num_test=len(self.x_test), input_dim=self.input_dim,
                num_classes=self.num_classes, image_shape=list(self.image_shape),
                preprocessing="flatten, " + (
                    "pixels/255 in [0, 1]" if self.pixel_layout == validation.INTEGER_LAYOUT
                    else "float pixels in [0, 1] kept") + (
                    ", per-feature standardization" if self.options["standardize"] else ""),
                **self.options)


# ----------------------------------------------------------------------------- sources
def _from_directory(spec: DatasetSpec, root: pathlib.Path,
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


def _validate(spec: DatasetSpec, train: Split, test: Split, source: str) -> Tuple[Split, Split]:
  """The splits checked against ``spec`` and by `validation.check_split` (pixel layout, finite
  pixels, integer labels), in canonical form."""
  train, test = validation.check_split(train, test, source)
  for split, (x, y) in (("train", train), ("test", test)):
    if x.shape[1:] != spec.image_shape:
      raise DataError(f"{source}: {split} images have shape {x.shape[1:]}; "
                      f"{spec.name} needs {spec.image_shape}")
    if len(x) != len(y):
      raise DataError(f"{source}: {len(x)} {split} images but {len(y)} labels")
    if not len(x):
      raise DataError(f"{source}: the {split} split is empty")
    if len(y) and (y.min() < 0 or y.max() >= spec.num_classes):
      raise DataError(f"{source}: {split} labels in {y.min()}..{y.max()}; "
                      f"{spec.name} allows 0..{spec.num_classes - 1}")
  return train, test


def load_raw(name: str, data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None,
             tfds_download: Optional[bool] = None) -> Tuple[Split, Split, str]:
  """Images (uint8, or float32 in [0, 1]) and labels of both splits, and the source they came
  from (checked against the spec by `preprocess`)."""
  spec = get_spec(name)
  tried: List[str] = []
  if data_dir:  # explicit: the only source, never a fallback to another copy
    root = pathlib.Path(data_dir).expanduser().resolve()
    if not root.exists():
      raise DataError(f"data_dir {data_dir} does not exist; give an existing file or directory "
                      f"holding {name}, or leave --data_dir out to use the default sources")
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


def load(name: str, data_dir: Optional[str] = None, standardize: bool = False,
         train_subset: int = 0, subset_seed: int = 0, random_label_fraction: float = 0.0,
         label_seed: int = 0, tfds_data_dir: Optional[str] = None,
         tfds_download: Optional[bool] = None) -> Dataset:
  """Loads any dataset `load_source` takes (registered, ``tfds:<name>`` or a path) and
  preprocesses it with `preprocess`."""
  spec, train, test, source = load_source(name, data_dir, tfds_data_dir=tfds_data_dir,
                                          tfds_download=tfds_download)
  return preprocess(spec, train, test, source, standardize=standardize,
                    train_subset=train_subset, subset_seed=subset_seed,
                    random_label_fraction=random_label_fraction, label_seed=label_seed)


def preprocess(spec: DatasetSpec, train: Split, test: Split, source: str,
               standardize: bool = False, train_subset: int = 0, subset_seed: int = 0,
               random_label_fraction: float = 0.0, label_seed: int = 0) -> Dataset:
  """Turns images (see `validation` for the pixel layouts) and labels into a `Dataset` (also
  for data of one's own).

  Order of the options: stratified training subset (``subset_seed``), then random labels
  on that subset (``label_seed``), then scaling and optional standardization with the
  statistics of the (sub)set actually trained on.
  """
  train, test = _validate(spec, train, test, source)
  fingerprint = validation.fingerprint(train, test)
  layout = validation.INTEGER_LAYOUT if train[0].dtype == np.uint8 else validation.FLOAT_LAYOUT
  (x_train, y_train), (x_test, y_test) = train, test
  y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
  indices = np.arange(len(y_train))
  if train_subset > len(y_train):
    raise DataError(f"{source}: train_subset={train_subset} but it holds only {len(y_train)} "
                    f"training examples; allowed: 0 (all) .. {len(y_train)}")
  if train_subset:
    indices = transforms.stratified_subset(y_train, train_subset, spec.num_classes, subset_seed)
    x_train, y_train = x_train[indices], y_train[indices]
  y_true = y_train
  y_train, mask = transforms.randomize_labels(y_true, random_label_fraction, spec.num_classes,
                                              label_seed)
  x_train = transforms.scale_and_flatten(x_train)
  x_test = transforms.scale_and_flatten(x_test)
  mean, std = transforms.feature_statistics(x_train)
  if standardize:
    shift, scale = transforms.standardization(mean, std)
    x_train = (x_train - shift) / scale
    x_test = (x_test - shift) / scale
    mean, std = transforms.feature_statistics(x_train)
  else:
    shift = np.zeros(spec.input_dim, np.float32)
    scale = np.ones(spec.input_dim, np.float32)
  options = dict(standardize=bool(standardize), train_subset=int(train_subset),
                 subset_seed=int(subset_seed),
                 random_label_fraction=float(random_label_fraction), label_seed=int(label_seed))
  return Dataset(spec, x_train, y_train, y_true, x_test, y_test, source, shift, scale, mean,
                 std, indices, mask, options, fingerprint, layout)
