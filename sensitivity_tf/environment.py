"""What a result was computed with: library versions and the machine."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata

PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "pyarrow", "keras-tuner",
            "tensorflow-datasets", "absl-py", "ml-collections")


def versions() -> dict:
  out = {"python": sys.version.split()[0]}
  for name in PACKAGES:
    try:
      out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      out[name] = None
  from sensitivity_tf import __version__
  out["sensitivity_tf"] = __version__
  return out


def machine() -> dict:
  import tensorflow as tf
  return dict(hostname=socket.gethostname(), platform=platform.platform(),
              processor=platform.machine(), cpu_count=os.cpu_count(),
              gpus=[d.name for d in tf.config.list_physical_devices("GPU")])


def describe() -> dict:
  return dict(versions=versions(), machine=machine(), argv=list(sys.argv))
