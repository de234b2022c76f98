"""What a result was computed with: the code's version, library versions, the machine and
the device; and the device set-up every command does before TensorFlow runs its first op.

Every run directory (``config.json``), evaluation summary and claims report records
`describe()` or `code_version()`.
"""

from __future__ import annotations

import functools
import os
import pathlib
import platform
import socket
import subprocess
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


@functools.lru_cache(maxsize=None)
def code_version() -> dict:
  """Which code computed a result (once per process).

  From a git checkout (``pip install -e .``, ``PYTHONPATH``): ``source="git"``, the ``commit``
  (40 hex digits) and ``dirty``, whether tracked or new non-ignored files differed from it
  (then the commit alone does not say which code ran). Installed (``pip install .``), or where
  git is missing: ``source="package"``, commit and dirty ``None``. ``version`` is the
  package's version either way.
  """
  from sensitivity_tf import __version__
  root = pathlib.Path(__file__).resolve().parents[2]  # the checkout holding sensitivity_tf/
  if (root / ".git").exists() and (root / "sensitivity_tf").is_dir():
    try:
      git = lambda *args: subprocess.run(  # noqa: E731
          ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
      commit, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
      if commit.returncode == 0 and status.returncode == 0:
        return dict(source="git", commit=commit.stdout.strip(), dirty=bool(status.stdout.strip()),
                    version=__version__)
    except (OSError, subprocess.SubprocessError):
      pass
  return dict(source="package", commit=None, dirty=None, version=__version__)


def code_version_text(code: dict) -> str:
  """One line for reports: ``git 1a2b3c4d5e6f (dirty)`` or ``sensitivity_tf 0.1.0``."""
  if code.get("source") == "git":
    return f"git commit {code['commit'][:12]}" + (" with uncommitted changes" if code["dirty"]
                                                  else "")
  return f"sensitivity_tf {code.get('version')} (installed package)"


def source_kind(source: str) -> str:
  """A data source without its local path: ``npz:/any/dir/mnist.npz`` -> ``npz:mnist.npz``
  (the kind of source and the file's own name), ``tfds:mnist (prepared data)`` unchanged."""
  kind, sep, where = source.partition(":")
  if sep and ("/" in where or os.sep in where):
    return f"{kind}:{os.path.basename(os.path.normpath(where))}"
  return source


@functools.lru_cache(maxsize=None)
def data_provenance(name: str, data_dir: str = "") -> dict:
  """What data ``name`` is, as `sensitivity_tf.data` finds it with ``data_dir``: the kind of
  source (`source_kind`, no local path) and the fingerprint every run records (SHA-256 of the
  checked raw arrays, first 16 hex digits; `sensitivity_tf.data.validation.fingerprint`).
  ``source`` is ``unavailable`` (and the fingerprint empty) when no source holds it."""
  from sensitivity_tf.data import registry
  from sensitivity_tf.data import sources
  from sensitivity_tf.data import validation
  try:
    train, test, source = sources.load_raw(name, data_dir or None)
  except registry.DataError as e:
    return dict(source="unavailable", fingerprint="", error=str(e).splitlines()[0])
  train, test = validation.check_split(train, test, source)
  return dict(source=source_kind(source), fingerprint=validation.fingerprint(train, test))


def configure_devices() -> None:
  """Lets TensorFlow take GPU memory as it needs it instead of reserving all of it at once,
  so several processes (survey workers, an evaluation beside a training) can share a GPU.
  TensorFlow accepts this only before its first op; `cli` calls it at import. Nothing else
  chooses a device: ops go where TensorFlow places them (the first GPU if any, else the CPU)."""
  import tensorflow as tf
  for gpu in tf.config.list_physical_devices("GPU"):
    try:
      tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:  # the device is initialized already: too late, and harmless
      pass


def device() -> str:
  """The device TensorFlow places ops on by default: the first GPU if any, else the CPU."""
  import tensorflow as tf
  gpus = tf.config.list_logical_devices("GPU")
  return gpus[0].name if gpus else tf.config.list_logical_devices("CPU")[0].name


def machine() -> dict:
  import tensorflow as tf
  return dict(hostname=socket.gethostname(), platform=platform.platform(),
              processor=platform.machine(), cpu_count=os.cpu_count(),
              gpus=[d.name for d in tf.config.list_physical_devices("GPU")], device=device())


def describe() -> dict:
  return dict(code=code_version(), versions=versions(), machine=machine(), argv=list(sys.argv))
