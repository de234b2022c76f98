"""The keras-tuner internals `sensitivity_tf.survey` relies on are still there and still work.

`survey/tuner.py` imports `keras_tuner.src` modules, subclasses `Oracle` (replacing
`create_trial`, `update_trial`, `end_trial`, `get_space`), serves keras-tuner's gRPC oracle
service (`OracleServicer`) on the chief, and on workers subclasses `OracleClient` to call its
stub with its own timeout, sending each job as a string hyperparameter value. None of that is
keras-tuner's public API, so setup.py pins keras-tuner below its next minor; when a new
version moves one of these, a test here names what moved.
"""

import ast
import importlib
import inspect
import os
import re
from unittest import mock

import keras_tuner as kt
import tensorflow as tf
from keras_tuner.src.engine import trial as trial_module

from conftest import REPO


def _keras_tuner_src_imports():
  """(module, name) for every `from keras_tuner.src... import name` in the library, and
  (module, None) for every `import keras_tuner.src...`."""
  found = set()
  for path in (REPO / "sensitivity_tf").rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_tuner.src"):
        found.update((node.module, alias.name) for alias in node.names)
      elif isinstance(node, ast.Import):
        found.update((a.name, None) for a in node.names if a.name.startswith("keras_tuner.src"))
  return sorted(found, key=str)


class KerasTunerInternalsTest(tf.test.TestCase):

  def test_installed_version_is_in_the_pinned_range(self):
    pin = re.search(r'"keras-tuner>=([\d.]+),<([\d.]+)"', (REPO / "setup.py").read_text())
    self.assertIsNotNone(pin, "setup.py must pin keras-tuner as >=A,<B")
    as_tuple = lambda v: tuple(int(p) for p in v.split(".")[:3])  # noqa: E731
    low, high = as_tuple(pin.group(1)), as_tuple(pin.group(2))
    self.assertTrue(low <= as_tuple(kt.__version__) < high,
                    f"keras-tuner {kt.__version__} is outside the tested range {pin.group(0)}")

  def test_every_internal_import_resolves(self):
    imports = _keras_tuner_src_imports()
    self.assertNotEmpty(imports)  # survey/tuner.py uses some; this test is about them
    for module, name in imports:
      try:
        imported = importlib.import_module(module)
      except ImportError as e:
        self.fail(f"keras-tuner {kt.__version__} moved {module}: {e}")
      if name is not None and not hasattr(imported, name):
        try:
          importlib.import_module(f"{module}.{name}")
        except ImportError:
          self.fail(f"keras-tuner {kt.__version__}: {module} has no {name}")

  def test_oracle_client_builds_a_stub_with_the_calls_we_make(self):
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_client
    env = {"KERASTUNER_TUNER_ID": "worker0", "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": "8000"}
    with mock.patch.dict(os.environ, env):
      client = oracle_client.OracleClient(None)
    for call in ("GetSpace", "CreateTrial", "UpdateTrial", "EndTrial"):
      self.assertTrue(callable(getattr(client.stub, call, None)),
                      f"OracleClient.stub has no {call} (survey/tuner.py's _Client calls it)")
    service = protos.get_service()
    service.GetSpaceRequest()
    service.CreateTrialRequest(tuner_id="worker0")
    service.UpdateTrialRequest(trial_id="k|worker0|1", metrics={}, step=0)
    service.EndTrialRequest(trial=trial_module.Trial(kt.HyperParameters(), "t").to_proto())

  def test_servicer_calls_the_oracle_methods_we_replace(self):
    from keras_tuner.src.distribute import oracle_chief
    source = inspect.getsource(oracle_chief.OracleServicer)
    for call in ("self.oracle.get_space()", "self.oracle.create_trial(",
                 "self.oracle.update_trial(", "self.oracle.end_trial("):
      self.assertIn(call, source, f"OracleServicer no longer calls {call}")

  def test_trials_carry_string_values_and_statuses_over_protos(self):
    status = trial_module.TrialStatus
    hp = kt.HyperParameters()
    hp.Fixed("identity", '{"label": "x"}')
    hp.values = {"identity": '{"label": "x"}', "job": '{"key": "a/b", "spec": {}}'}
    for s in (status.RUNNING, status.IDLE, status.STOPPED, status.COMPLETED):
      back = trial_module.Trial.from_proto(
          trial_module.Trial(hyperparameters=hp, trial_id="a/b|worker0|1", status=s).to_proto())
      self.assertEqual((back.status, back.trial_id), (s, "a/b|worker0|1"))
      self.assertEqual(back.hyperparameters.values, hp.values)
    self.assertEqual(kt.HyperParameters.from_proto(hp.to_proto()).values["identity"],
                     '{"label": "x"}')

  def test_chief_and_worker_roles_come_from_the_environment(self):
    from keras_tuner.src.distribute import utils as dist_utils
    chief = {"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "127.0.0.1",
             "KERASTUNER_ORACLE_PORT": "8000"}
    with mock.patch.dict(os.environ, chief):
      self.assertTrue(dist_utils.has_chief_oracle())
      self.assertTrue(dist_utils.is_chief_oracle())
    with mock.patch.dict(os.environ, dict(chief, KERASTUNER_TUNER_ID="worker0")):
      self.assertTrue(dist_utils.has_chief_oracle())
      self.assertFalse(dist_utils.is_chief_oracle())
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    with mock.patch.dict(os.environ, env, clear=True):
      self.assertFalse(dist_utils.has_chief_oracle())

  def test_chief_service_can_be_built(self):
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief
    self.assertTrue(callable(protos.get_service_grpc().add_OracleServicer_to_server))
    self.assertTrue(inspect.isclass(oracle_chief.OracleServicer))

  def test_oracle_accepts_our_constructor_arguments(self):
    hp = kt.HyperParameters()
    hp.Fixed("identity", "x")
    oracle = kt.Oracle(objective=kt.Objective("completed", "max"), max_trials=None,
                       hyperparameters=hp, allow_new_entries=False, tune_new_entries=False,
                       max_consecutive_failed_trials=None)
    self.assertEqual(oracle.tuner_ids, set())
    self.assertEqual(oracle.hyperparameters.copy().get("identity"), "x")

if __name__ == "__main__":
  tf.test.main()
