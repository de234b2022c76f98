"""The keras-tuner internals `sensitivity_tf.survey` relies on are still there and still work.

`survey/tuner.py` imports `keras_tuner.src` modules, replaces `Oracle.populate_space` and
`_check_consecutive_failures`, drives `BaseTuner`'s search hooks itself, serves keras-tuner's
gRPC oracle service on the chief and shortens `oracle_client.TIMEOUT`. None of that is
keras-tuner's public API, so setup.py pins keras-tuner below its next minor; when a new
version moves one of these, a test here names what moved.
"""

import ast
import importlib
import inspect
import os
import re
import tempfile
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

  def test_oracle_client_reads_its_timeout_at_call_time(self):
    from keras_tuner.src.distribute import oracle_client
    self.assertIsInstance(oracle_client.TIMEOUT, (int, float),
                          "oracle_client.TIMEOUT (how long a worker waits for the chief) moved")
    source = inspect.getsource(oracle_client.OracleClient)
    self.assertIn("timeout=TIMEOUT", source,
                  "OracleClient no longer reads the module's TIMEOUT: set_chief_timeout breaks")

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

  def test_oracle_hands_out_what_populate_space_returns(self):
    """create_trial turns populate_space's answers into trials with these statuses, as
    SurveyOracle needs, with the constructor arguments it passes."""
    status = trial_module.TrialStatus
    answers = [{"status": status.RUNNING, "values": {"trial_index": 2}},
               {"status": status.IDLE}, {"status": status.STOPPED}]

    class Oracle(kt.Oracle):
      def populate_space(self, trial_id):
        return answers.pop(0)

    hp = kt.HyperParameters()
    hp.Int("trial_index", 0, 3)
    oracle = Oracle(objective=kt.Objective("completed", "max"), max_trials=None,
                    hyperparameters=hp, allow_new_entries=False, tune_new_entries=False,
                    max_consecutive_failed_trials=None)
    oracle.verbose = 0  # survey/driver.py silences keras-tuner's tables this way
    with tempfile.TemporaryDirectory() as d:
      oracle._set_project_dir(d, "p")
      trial = oracle.create_trial("worker0")
      self.assertEqual(trial.status, status.RUNNING)
      self.assertEqual(trial.hyperparameters.get("trial_index"), 2)
      self.assertIn("worker0", oracle.tuner_ids)  # the chief's "workers still alive"
      # (worker0 asking again would get its running trial back)
      self.assertEqual(oracle.create_trial("worker1").status, status.IDLE)
      self.assertEqual(oracle.create_trial("worker1").status, status.STOPPED)
    self.assertIn("_check_consecutive_failures", inspect.getsource(kt.Oracle),
                  "Oracle no longer calls _check_consecutive_failures, which SurveyOracle "
                  "overrides so a run of failed networks does not end the survey")

  def test_base_tuner_search_hooks(self):
    base = kt.engine.base_tuner.BaseTuner
    for hook in ("_try_run_and_update_trial", "on_search_begin", "on_trial_begin",
                 "on_trial_end", "on_search_end", "save", "run_trial", "save_model",
                 "load_model"):
      self.assertTrue(callable(getattr(base, hook, None)),
                      f"keras-tuner {kt.__version__}: BaseTuner.{hook} moved (SurveyTuner.search "
                      "calls or overrides it)")
    self.assertIn("self.tuner_id", inspect.getsource(base.__init__))


if __name__ == "__main__":
  tf.test.main()
