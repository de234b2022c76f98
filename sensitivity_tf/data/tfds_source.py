"""TensorFlow Datasets as the last data source, without hangs when offline.

``tfds.load`` with no network retries name resolution for minutes before failing. So we
first ask TFDS for data it has already prepared (``download=False``, answers in
milliseconds), and only download when a quick connection probe (``probe_timeout`` seconds)
to TFDS's storage host succeeds. Any failure comes back as one line, never a traceback
from inside TFDS.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Optional, Tuple

import numpy as np

from sensitivity_tf.data.validation import DataError
from sensitivity_tf.data.validation import Split

PROBE_HOST = ("storage.googleapis.com", 443)


def online(timeout: float = 3.0) -> bool:
  """True when a TCP connection to TFDS's storage host opens within ``timeout`` seconds.

  Name resolution can block far longer than a socket timeout, so the probe runs in a
  daemon thread that is abandoned when it overruns.
  """
  result = []

  def probe():
    try:
      with socket.create_connection(PROBE_HOST, timeout=timeout):
        result.append(True)
    except OSError:
      result.append(False)

  thread = threading.Thread(target=probe, daemon=True)
  thread.start()
  thread.join(timeout)
  return bool(result and result[0])


@contextlib.contextmanager
def _quiet_absl_logging():
  """TFDS logs INFO/WARNING lines through absl; keep them out of our one-line errors."""
  from absl import logging
  old = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)
  try:
    yield
  finally:
    logging.set_verbosity(old)


def _to_numpy(ds) -> Split:
  import tensorflow_datasets as tfds
  xs, ys = [], []
  for x, y in tfds.as_numpy(ds.batch(8192)):
    xs.append(x)
    ys.append(y)
  return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def class_names(tfds_name: str, data_dir: Optional[str] = None) -> Tuple[str, ...]:
  """The class names of a TFDS image-classification dataset, from its info (label feature);
  DataError when it has none."""
  import tensorflow_datasets as tfds
  try:
    with _quiet_absl_logging():
      features = tfds.builder(tfds_name, data_dir=data_dir).info.features
    label = features["label"]
    return tuple(label.names) if label.names else tuple(str(i) for i in range(label.num_classes))
  except Exception as e:
    msg = str(e).splitlines()[0] if str(e) else ""
    raise DataError(f"tfds:{tfds_name}: not an image-classification dataset with a 'label' "
                    f"feature ({type(e).__name__}: {msg})") from None


def load(tfds_name: str, data_dir: Optional[str] = None, download: Optional[bool] = None,
         probe_timeout: float = 3.0) -> Tuple[Split, Split, str]:
  """(train, test, description) from TFDS; DataError with one line when impossible.

  ``download``: None = only when online (probed), False = never, True = always try.
  """
  try:
    import tensorflow_datasets as tfds
  except Exception as e:  # pragma: no cover - depends on the installation
    raise DataError(f"tensorflow-datasets cannot be imported ({type(e).__name__}: {e})") from None

  def attempt(dl):
    with _quiet_absl_logging():
      train, test = tfds.load(tfds_name, split=["train", "test"], as_supervised=True,
                              download=dl, data_dir=data_dir)
      return _to_numpy(train), _to_numpy(test)

  try:
    train, test = attempt(False)
    return train, test, f"tfds:{tfds_name} (prepared data)"
  except Exception as e:
    first = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
  if download is False:
    raise DataError(f"tfds:{tfds_name}: not prepared locally ({first}); downloads disabled")
  if download is None and not online(probe_timeout):
    raise DataError(f"tfds:{tfds_name}: not prepared locally and no network "
                    f"(no connection to {PROBE_HOST[0]} within {probe_timeout:g} s)")
  try:
    train, test = attempt(True)
  except Exception as e:
    msg = str(e).splitlines()[0] if str(e) else ""
    raise DataError(f"tfds:{tfds_name}: download failed ({type(e).__name__}: {msg})") from None
  return train, test, f"tfds:{tfds_name} (downloaded)"
