"""`pip install .` and `pip install -e .` give four working commands, from any directory.

Costs about a minute on 2 cores (two installs without dependencies, four `--help`s, two
tiny training runs). The fresh virtualenv sees this interpreter's packages (TensorFlow,
...) through a `.pth` file instead of downloading them, and installs only this package
(`--no-deps --no-build-isolation`), from a copy of the repository's setup.py,
sensitivity_tf/ and configs/ (what a clone has; nothing of the checkout is on its path).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import pytest
from conftest import REPO

COMMANDS = ("train", "evaluate_sensitivity", "survey", "reproduce")


def _env():
  env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return env


def _run(args, cwd, timeout=300):
  return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                        timeout=timeout)


class InstallTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="sensitivity_tf_install_"))
    cls.source = cls.tmp / "clone"
    cls.source.mkdir()
    shutil.copy(REPO / "setup.py", cls.source)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("sensitivity_tf", "configs"):
      shutil.copytree(REPO / folder, cls.source / folder, ignore=ignore)
    cls.venv = cls.tmp / "venv"  # pip too comes from this interpreter's packages
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(cls.venv)], check=True,
                   timeout=120)
    python = cls.venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cls.tmp).stdout.strip()
    # This interpreter's packages, after the venv's own (a .pth line adds a path; it does not
    # process that path's .pth files, so an editable install of this checkout stays unseen).
    pathlib.Path(site, "parent_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cls.python = python
    cls.work = cls.tmp / "elsewhere"  # not the repository, not the clone
    cls.work.mkdir()

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.tmp, ignore_errors=True)

  def _pip_install(self, *args):
    proc = _run([str(self.python), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                 "--no-index", "--quiet", *args], self.tmp, timeout=600)
    self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

  def _command(self, name):
    return str(self.venv / "bin" / f"sensitivity_tf-{name}")

  def _tiny_train(self, output):
    proc = _run([self._command("train"), "--config=train:quick", "--train_subset=300",
                 "--max_steps=20", "--depth=1", "--width=16", f"--output_dir={output}",
                 "--noprogress"], self.work)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertRegex(proc.stdout, r"stop: \w+ after 20 steps")
    metrics = json.loads((self.work / output / "metrics.json").read_text())
    self.assertEqual(metrics["num_train"], 300)
    record = json.loads((self.work / output / "config.json").read_text())
    config = record["config"]
    self.assertEqual((config["train_subset"], config["max_steps"]), (300, 20))
    self.assertEqual(config["dataset"], "fashion_mnist")  # from configs/train.py
    # the copy is no git checkout, so the code version is the package's
    self.assertEqual((record["code"]["source"], record["code"]["version"]),
                     ("package", "0.1.0"))

  def _where(self, module):
    proc = _run([str(self.python), "-c", f"import {module}; print({module}.__file__)"], self.work)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    return pathlib.Path(proc.stdout.strip())

  @pytest.mark.slow
  def test_install_then_editable_install(self):
    self._pip_install(str(self.source))
    installed = self._where("sensitivity_tf")
    self.assertNotIn(str(self.source), str(installed))
    self.assertNotIn(str(REPO), str(installed))
    configs = self._where("sensitivity_tf.configs").parent
    self.assertTrue((configs / "survey_default.py").is_file(), configs)
    for name in COMMANDS:
      proc = _run([self._command(name), "--help"], self.work, timeout=120)
      self.assertNotIn("Traceback", proc.stderr)
      self.assertEqual(proc.returncode, 1, proc.stderr)  # absl's --help exits with 1
      self.assertIn("Usage:", proc.stdout)
      self.assertIn(f"sensitivity_tf-{name}", proc.stdout)  # the usage names the command
      self.assertRegex(proc.stdout, r"\n  --\S")  # and its own flags are listed
    self._tiny_train("run_installed")

    self._pip_install("-e", str(self.source))
    self.assertEqual(self._where("sensitivity_tf").parent, self.source / "sensitivity_tf")
    self._tiny_train("run_editable")
