"""Where the experiment configs live, and what a ``--config`` value names.

The configs are the Python files of the repository's top-level ``configs/`` directory, each
with a ``get_config()`` returning an ``ml_collections.ConfigDict``. ``pip install`` copies
them into the package as ``sensitivity_tf/configs/`` (``setup.py`` maps that package onto
``configs/``), so the installed commands find them from any directory; in a checkout
(``pip install -e .`` or ``PYTHONPATH``) they are read from ``configs/`` itself.

A ``--config`` value (optionally followed by ``:<argument>``, passed to ``get_config``) is,
in this order [ours]:

1. the path of an existing file: ``configs/train.py`` from the repository root, or any
   file of your own;
2. otherwise the name of one of the configs: ``train``, ``train.py`` or ``configs/train.py``
   work from any directory.

Anything else is left as given: the command then stops with one line, which for a bare
name lists the configs.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
from typing import List, Optional

_PACKAGE = pathlib.Path(__file__).resolve().parents[1]  # sensitivity_tf/


def directory() -> pathlib.Path:
  """The configs directory: the installed copy, else the checkout's ``configs/``."""
  installed = _PACKAGE / "configs"
  if (installed / "train.py").is_file():
    return installed
  return _PACKAGE.parent / "configs"


def names() -> List[str]:
  """The configs' names (file stems), sorted."""
  return sorted(p.stem for p in directory().glob("*.py") if not p.name.startswith("_"))


def path(name: str) -> str:
  """The file of the config called ``name`` (e.g. ``reproduce_capacity``)."""
  return str(directory() / f"{name}.py")


def resolve(value: str) -> str:
  """A ``--config`` value with a config's name replaced by its file (see the docstring)."""
  file, sep, argument = value.partition(":")
  if os.path.isfile(file):
    return value
  name = file[len("configs/"):] if file.startswith("configs/") else file
  if not name or "/" in name or os.sep in name:
    return value
  candidate = directory() / (name if name.endswith(".py") else f"{name}.py")
  return str(candidate) + sep + argument if candidate.is_file() else value


def common():
  """``configs/_common.py`` as a module: the presets, training protocol and builders every
  config shares. Configs import it through here (not by a path beside their own file), so
  a config copied elsewhere still finds the shared parts."""
  return load_config_module(str(directory() / "_common.py"))


def load_config_module(path: str):
  """A Python config file (``configs/*.py``) as a module: its docstring and ``get_config``."""
  spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0],
                                                path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_config_file(path: str, argument: Optional[str] = None):
  """``get_config(argument)`` of a Python config file, as ``--config=path:argument`` would."""
  module = load_config_module(path)
  return module.get_config() if argument is None else module.get_config(argument)


def experiment_config(name: str, preset: str = "small"):
  """The config of experiment ``name`` at ``preset``: ``configs/reproduce_<name>.py``'s
  ``get_config(preset)``."""
  return load_config_file(path(f"reproduce_{name}"), preset)
