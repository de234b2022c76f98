"""A preprocessed dataset (`Dataset`), and `load` / `preprocess`, which make one from any
dataset `sensitivity_tf.data.sources` finds (or from arrays of one's own)."""

from __future__ import annotations
import dataclasses
from typing import Optional, Tuple
import numpy as np
from sensitivity_tf.data import registry
from sensitivity_tf.data import sources
from sensitivity_tf.data import transforms
from sensitivity_tf.data import validation
from sensitivity_tf.data.validation import DataError
from sensitivity_tf.data.validation import Split


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

  spec: registry.DatasetSpec
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
                num_classes=self.num_classes, class_names=list(self.spec.class_names),
                image_shape=list(self.image_shape),
                preprocessing="flatten, " + (
                    "pixels/255 in [0, 1]" if self.pixel_layout == validation.INTEGER_LAYOUT
                    else "float pixels in [0, 1] kept") + (
                    ", per-feature standardization" if self.options["standardize"] else ""),
                **self.options)


def canonical_options(standardize=False, train_subset=0, subset_seed=0,
                          random_label_fraction=0.0, label_seed=0) -> dict:
  """The options that change what a model sees besides the raw arrays (`Dataset.options`),
  in canonical types, so that equal options compare equal wherever they come from."""
  return dict(standardize=bool(standardize), train_subset=int(train_subset),
              subset_seed=int(subset_seed), random_label_fraction=float(random_label_fraction),
              label_seed=int(label_seed))


def _validate(spec: registry.DatasetSpec, train: Split, test: Split, source: str) -> Tuple[Split, Split]:
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


def load(name: str, data_dir: Optional[str] = None, standardize: bool = False,
         train_subset: int = 0, subset_seed: int = 0, random_label_fraction: float = 0.0,
         label_seed: int = 0, tfds_data_dir: Optional[str] = None,
         tfds_download: Optional[bool] = None) -> Dataset:
  """Loads any dataset `sources.load_source` takes (registered, ``tfds:<name>`` or a path) and
  preprocesses it with `preprocess`."""
  spec, train, test, source = sources.load_source(name, data_dir, tfds_data_dir=tfds_data_dir,
                                          tfds_download=tfds_download)
  return preprocess(spec, train, test, source, standardize=standardize,
                    train_subset=train_subset, subset_seed=subset_seed,
                    random_label_fraction=random_label_fraction, label_seed=label_seed)


def preprocess(spec: registry.DatasetSpec, train: Split, test: Split, source: str,
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
  options = canonical_options(standardize, train_subset, subset_seed,
                              random_label_fraction, label_seed)
  return Dataset(spec, x_train, y_train, y_true, x_test, y_test, source, shift, scale, mean,
                 std, indices, mask, options, fingerprint, layout)
