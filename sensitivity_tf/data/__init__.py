"""Datasets: registry, local readers, TFDS fallback, preprocessing and augmentation."""

from sensitivity_tf.data.readers import DataError
from sensitivity_tf.data.registry import (DATASETS, Dataset, DatasetSpec, get_spec, load, load_raw,
                                           load_source, preprocess)
