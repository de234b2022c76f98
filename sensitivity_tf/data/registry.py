"""The datasets registered by name: their shapes, classes and sizes (`DatasetSpec`), and
which names ``--dataset`` accepts. Where their data comes from is `sensitivity_tf.data.sources`;
the preprocessed dataset is `sensitivity_tf.data.preprocessing`."""

from __future__ import annotations
import dataclasses
import pathlib
from typing import Dict, Tuple
import numpy as np
from sensitivity_tf.data.validation import DataError
from sensitivity_tf.data.validation import Split


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


# The densest label rule for data of one's own [ours, docs/data.md]: with labels 0..K-1 taken
# from the largest label, K must stay below this multiple of the labels that occur, and at
# most MAX_CLASSES, so that a stray label (1e9) never builds a billion-class network.
MAX_LABEL_SPREAD = 2
MAX_CLASSES = 100_000


def check_label_density(train: Split, test: Split, where: str) -> int:
  """K = largest label + 1 (at least 2) of a ``.npz`` of one's own, or DataError (one line,
  with the numbers) when the labels are too sparse to be class indices: K must be below
  `MAX_LABEL_SPREAD` x the number of distinct labels and at most `MAX_CLASSES`."""
  labels = np.concatenate([train[1], test[1]])
  if not len(labels):
    return 2
  top = int(labels.max())
  distinct = len(np.unique(labels))
  limit = MAX_LABEL_SPREAD * distinct
  if top >= limit or top + 1 > MAX_CLASSES:
    raise DataError(
        f"{where}: labels take {distinct} distinct values but go up to {top}, i.e. {top + 1} "
        f"classes; allowed: a largest label below {MAX_LABEL_SPREAD} x the number of distinct "
        f"labels (here {limit}) and at most {MAX_CLASSES} classes; renumber the labels "
        "0..K-1")
  return max(top + 1, 2)


def own_spec(name: str, train: Split, test: Split, class_names=None) -> DatasetSpec:
  """The spec of data that is not registered: shapes from the arrays, classes from the class
  folders or, for a ``.npz``, 0 .. the largest label (at least 2; `check_label_density`)."""
  if class_names is None:
    class_names = tuple(str(i) for i in range(check_label_density(train, test, name)))
  return DatasetSpec(name, tuple(int(d) for d in train[0].shape[1:]), len(class_names),
                     len(train[0]), len(test[0]), "", tuple(class_names))
