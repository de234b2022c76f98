"""What every command shares: quiet TensorFlow, one-line errors, exit codes, --help.

The commands live in `sensitivity_tf.commands` (``bin/<name>`` and the installed
``sensitivity_tf-<name>`` both run them).

Expected failures (a bad flag, a bad setting, data that cannot be found, a broken run
directory) end the program with ``error: <one line>`` on stderr and exit status 2; they
never print a traceback. Ctrl-C ends it with one line saying that the same command resumes,
exit status 130. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, Optional, Tuple, Type

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
    from sensitivity_tf.store import environment
    environment.configure_devices()
    return
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.stderr.flush()
  saved = os.dup(2)
  null = os.open(os.devnull, os.O_WRONLY)
  os.dup2(null, 2)
  try:
    import tensorflow as tf
    from sensitivity_tf.store import environment
    environment.configure_devices()  # before the first op, which fixes GPU memory
    (tf.constant(1.0) + 1.0).numpy()
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(null)


_import_tensorflow_quietly()

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def expected_errors() -> Tuple[Type[BaseException], ...]:
  from sensitivity_tf.networks.classifier import ClassifierError
  from sensitivity_tf.data.validation import DataError
  from sensitivity_tf.store.row_table import TableError
  from sensitivity_tf.store.evaluations import ModelFileError
  from sensitivity_tf.store.run_dir import RunDirError
  from sensitivity_tf.train.train_config import ConfigError
  from sensitivity_tf.survey.local_workers import LocalWorkerError
  # ConnectionError: a survey worker that cannot reach its chief, a data download that
  # cannot connect: things the user fixes, not bugs. LocalWorkerError: a local worker that
  # stopped with its own one-line error, or kept dying (its log has the rest).
  return (ConfigError, DataError, RunDirError, TableError, ClassifierError, ModelFileError,
          ConnectionError, LocalWorkerError)


def check_directory_flag(name: str, value: Optional[str]) -> None:
  """Fails (one line) when the directory flag ``--name`` names an existing file."""
  if value and os.path.exists(os.path.expanduser(value)) and not os.path.isdir(
      os.path.expanduser(value)):
    fail(f"--{name}={value} is a file; allowed: a directory (existing or new)")


def fail(message: str) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(EXIT_USAGE)


def _last_line(message: str) -> str:
  """The line of a multi-line error that says what went wrong (config_flags' errors carry a
  traceback or a list of attempts before it), without the exception's class name."""
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  if not lines:
    return "invalid flags"
  head, sep, tail = lines[-1].partition(": ")
  return tail if sep and "." in head and " " not in head else lines[-1]


def _fail_on_missing_field(message: str, argv) -> None:
  """One line for ``--config.<path>=...`` naming a field the config does not have
  (ml_collections says ``'max_step'`` and, for a near miss, ``Did you mean "max_steps"``)."""
  import re
  overrides = [a.split("=", 1)[0] for a in argv if a.startswith("--config.")]
  quoted = re.findall(r"[A-Za-z_]\w*", message.replace("Did you mean", ""))
  for field in quoted:
    names = [n for n in overrides if n.endswith(f".{field}")]
    if names:
      hint = re.search(r'Did you mean "(\w+)"', message)
      fail(f"{names[0]}: the config has no field {field!r}"
           + (f"; did you mean {hint.group(1)!r}?" if hint else "; see its get_config()"))


def _fail_on_config_file(e: BaseException, argv) -> None:
  """One line for a --config file that does not load: a syntax error, no get_config()."""
  config = next((a for a in argv if a.startswith("--config=")), None)
  if config is None:
    return
  if isinstance(e, SyntaxError):
    fail(f"flag {config}: syntax error in {e.filename} line {e.lineno}: {e.msg}")
  if "get_config" in str(e):
    fail(f"flag {config}: the file has no get_config() function returning a ConfigDict")


def _parse_flags(argv):
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    first = str(e).splitlines()[0]
    where = first.split(": ", 1)[0] if first.startswith("flag --") else None
    fail(f"{where}: {_last_line(str(e))}" if where and first.endswith(":") else first)
  except (AttributeError, KeyError) as e:
    _fail_on_missing_field(str(e), argv)
    _fail_on_config_file(e, argv)
    raise  # neither: a bug, keep its traceback
  except SyntaxError as e:
    _fail_on_config_file(e, argv)
    raise
  for name, flag in flags.FLAGS._flags().items():  # config files load lazily; load them now
    if type(flag).__name__ == "_ConfigFlag" and flag.present:
      try:
        getattr(flags.FLAGS, name).keys()
      except Exception as e:  # noqa: BLE001 (config_flags raises IOError, ValueError, ...)
        fail(f"flag --{name}={flag.serialize().split('=', 1)[-1]}: "
             f"{_last_line(str(e.__cause__ or e))}")
  return argv


def _show_in_help(module_name: str) -> None:
  """``--help`` lists the flags of the running program's main module (absl keys it by
  ``sys.argv[0]``); the command's flags are defined in ``module_name`` and here."""
  for name in (module_name, __name__):
    for flag in flags.FLAGS.get_key_flags_for_module(name):
      flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run(main: Callable, usage: Optional[str] = None, presets: bool = False) -> None:
  """``absl.app.run(main)`` with one-line errors for bad flags and expected failures.

  ``usage`` (the command module's docstring) is what ``--help`` prints, whichever script
  runs the command. ``--config=<name>`` finds a config by name (`config_files.resolve`);
  with ``presets``, ``--preset=X`` means ``--config=<file>:X``.
  """
  from sensitivity_tf.commands import config_files
  argv = apply_preset(sys.argv) if presets else list(sys.argv)
  argv = [f"--config={config_files.resolve(a.split('=', 1)[1])}" if a.startswith("--config=")
          else a for a in argv]
  for a in argv:
    file = a.split("=", 1)[1].partition(":")[0] if a.startswith("--config=") else None
    if file and "/" not in file and not os.path.isfile(file):
      fail(f"--config={file}: no such file, and no config of that name; configs: "
           f"{', '.join(config_files.names())} (or a path to a file)")
  if usage is not None:
    sys.modules["__main__"].__doc__ = usage
    _show_in_help(main.__module__)

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
    except KeyboardInterrupt:
      print("interrupted: finished work is kept; run the same command again to resume",
            file=sys.stderr)
      sys.exit(EXIT_INTERRUPTED)

  app.run(wrapped, argv=argv, flags_parser=_parse_flags)


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


def apply_preset(argv: List[str]) -> List[str]:
  """``--preset=X`` means ``--config=<file>:X`` (config_flags passes X to get_config)."""
  preset = next((a.split("=", 1)[1] for a in argv if a.startswith("--preset=")), None)
  if preset is None:
    return argv
  return [a.split(":", 1)[0] + ":" + preset if a.startswith("--config=") else a for a in argv]
