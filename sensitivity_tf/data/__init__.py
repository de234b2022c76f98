"""Datasets: registry, where their data comes from (local readers, TFDS fallback), the
preprocessed `Dataset`, transforms and augmentation."""

from sensitivity_tf.data.preprocessing import Dataset, canonical_options, load, preprocess
from sensitivity_tf.data.validation import DataError
from sensitivity_tf.data.registry import DATASETS, DatasetSpec, get_spec
from sensitivity_tf.data.sources import load_raw, load_source
