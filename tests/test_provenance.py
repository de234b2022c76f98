"""Results record which code and which data computed them, and never a local path."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
import tensorflow as tf

from conftest import MNIST_NPZ, REPO
from sensitivity_tf.store import environment
from sensitivity_tf.data import preprocessing
from sensitivity_tf.reproduce import claims as claims_lib
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.reproduce.workspace import Workspace

_PRINT_CODE_VERSION = ("import json; from sensitivity_tf.store import environment; "
                       "print(json.dumps(environment.code_version()))")


def _code_version_of(root):
  """code_version() as a fresh process importing the package copied to ``root`` sees it."""
  env = dict(os.environ, PYTHONPATH=str(root))
  proc = subprocess.run([sys.executable, "-c", _PRINT_CODE_VERSION], cwd=root, env=env,
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  return json.loads(proc.stdout)


def _git(root, *args):
  return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                         *args], capture_output=True, text=True, check=True).stdout.strip()


class CodeVersionTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_checkout_commit_and_dirty_flag_else_package_version(self):
    with tempfile.TemporaryDirectory() as d:
      root = pathlib.Path(d)
      shutil.copytree(REPO / "sensitivity_tf", root / "sensitivity_tf",
                      ignore=shutil.ignore_patterns("__pycache__"))
      package = _code_version_of(root)  # no .git: an installed copy, as far as it can tell
      self.assertEqual(package, dict(source="package", commit=None, dirty=None,
                                     version="0.1.0"))
      _git(root, "init", "-q")
      _git(root, "add", "-A")
      _git(root, "commit", "-qm", "x")
      clean = _code_version_of(root)
      self.assertEqual((clean["source"], clean["commit"], clean["dirty"]),
                       ("git", _git(root, "rev-parse", "HEAD"), False))
      with open(root / "sensitivity_tf" / "models.py", "a") as f:
        f.write("\n# an edit\n")
      dirty = _code_version_of(root)
      self.assertEqual((dirty["commit"], dirty["dirty"]), (clean["commit"], True))
    self.assertEqual(environment.code_version_text(dirty),
                     f"git commit {clean['commit'][:12]} with uncommitted changes")
    self.assertEqual(environment.code_version_text(package),
                     "sensitivity_tf 0.1.0 (installed package)")

  def test_every_run_records_it(self):
    self.assertEqual(environment.describe()["code"], environment.code_version())


class DataProvenanceTest(tf.test.TestCase):

  def test_source_kind_drops_the_path(self):
    self.assertEqual(environment.source_kind("npz:/some/where/mnist.npz"), "npz:mnist.npz")
    self.assertEqual(environment.source_kind("idx:/usr/share/datasets/fashion-mnist/"),
                     "idx:fashion-mnist")
    self.assertEqual(environment.source_kind("tfds:mnist (prepared data)"),
                     "tfds:mnist (prepared data)")

  def test_fingerprint_is_the_one_runs_record(self):
    provenance = environment.data_provenance("mnist", str(MNIST_NPZ))
    self.assertEqual(provenance["source"], "npz:mnist.npz")
    dataset = preprocessing.load("mnist", str(MNIST_NPZ), train_subset=100)
    self.assertEqual(provenance["fingerprint"], dataset.fingerprint)
    self.assertLen(provenance["fingerprint"], 16)
    missing = environment.data_provenance("mnist", "/nonexistent/mnist.npz")
    self.assertEqual((missing["source"], missing["fingerprint"]), ("unavailable", ""))

  def test_claims_report_records_code_and_data_but_no_path(self):
    with tempfile.TemporaryDirectory() as d:
      root = pathlib.Path(d, "workspace")
      ws = Workspace(root, "tiny", data_dir=str(MNIST_NPZ), log=lambda m: None)
      result = claims_lib.ClaimResult("C1", "mnist", "Spearman ρ -0.5 [-0.8, -0.1]",
                                      {"rho": -0.5}, 12, "networks", "holds", "capacity_mnist")
      claims_lib.write_results(ws.path("claims", "capacity.json"), [result])
      reproduction.write_report(ws)
      text = (root / "claims.md").read_text()
      report = json.loads((root / "claims.json").read_text())
    fingerprint = environment.data_provenance("mnist", str(MNIST_NPZ))["fingerprint"]
    self.assertIn("Data, mnist: source `npz:mnist.npz`, fingerprint", text)
    self.assertIn(fingerprint, text)
    self.assertIn(environment.code_version_text(environment.code_version()), text)
    self.assertEqual(report["provenance"]["data"]["mnist"]["fingerprint"], fingerprint)
    self.assertEqual(report["provenance"]["code"], environment.code_version())
    for local in (d, str(MNIST_NPZ.parent), str(REPO)):
      self.assertNotIn(local, text)
      self.assertNotIn(local, json.dumps(report))


if __name__ == "__main__":
  tf.test.main()
