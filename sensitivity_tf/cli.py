"""What every ``bin/`` entry point shares: quiet TensorFlow, one-line errors, exit codes.

Expected failures (a bad flag, a bad setting, data that cannot be found, a broken run
directory) end the program with ``error: <one line>`` on stderr and exit status 2; they
never print a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, Tuple, Type

from absl import app
from absl import flags


def _import_tensorflow_quietly() -> None:
  """Imports TensorFlow and initializes its devices with stderr silenced.

  TF prints a dozen lines of C++ start-up notices (oneDNN, CUDA probing on machines without
  a GPU) that no environment variable turns off; they would bury our one-line errors.
  Python exceptions raised by the import still reach stderr (after it is restored).
  Set SENSITIVITY_TF_VERBOSE_TF=1 to see the notices.
  """
  if os.environ.get("SENSITIVITY_TF_VERBOSE_TF"):
    return
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.stderr.flush()
  saved = os.dup(2)
  null = os.open(os.devnull, os.O_WRONLY)
  os.dup2(null, 2)
  try:
    import tensorflow as tf
    tf.config.list_physical_devices()
    (tf.constant(1.0) + 1.0).numpy()
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(null)


_import_tensorflow_quietly()

EXIT_USAGE = 2


def expected_errors() -> Tuple[Type[BaseException], ...]:
  from sensitivity_tf.data.readers import DataError
  from sensitivity_tf.run_dir import RunDirError
  from sensitivity_tf.train_config import ConfigError
  # ConnectionError: a survey worker that cannot reach its chief, a data download that
  # cannot connect: things the user fixes, not bugs.
  return (ConfigError, DataError, RunDirError, ConnectionError)


def fail(message: str) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(EXIT_USAGE)


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(str(e).splitlines()[0])


def run(main: Callable) -> None:
  """``absl.app.run(main)`` with one-line errors for bad flags and expected failures."""

  def wrapped(argv):
    if not flags.FLAGS["verbosity"].present:
      # absl would show INFO lines from inside TF (checkpoint sharding, TFDS); keep
      # the terminal for our own output unless --verbosity asks for more.
      from absl import logging
      logging.set_verbosity(logging.WARNING)
    try:
      return main(argv)
    except expected_errors() as e:
      fail(str(e).splitlines()[0] if str(e) else type(e).__name__)

  app.run(wrapped, flags_parser=_parse_flags)


def explicit_flags(names) -> Dict[str, object]:
  """Values of the flags among ``names`` that were given on the command line."""
  return {n: flags.FLAGS[n].value for n in names if flags.FLAGS[n].present}


def define_fields(fields: Dict[str, tuple], string_fields=()) -> None:
  """One absl flag per config field, typed by its default (``string_fields`` as strings)."""
  for name, (default, help_text) in fields.items():
    if name in string_fields:
      flags.DEFINE_string(name, str(default), help_text)
    elif isinstance(default, bool):
      flags.DEFINE_bool(name, default, help_text)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, help_text)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, help_text)
    else:
      flags.DEFINE_string(name, default, help_text)
