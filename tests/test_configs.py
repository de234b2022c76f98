"""Every config in configs/ builds and validates, in each of its modes, and documents itself."""

import tensorflow as tf
from absl.testing import parameterized

from conftest import REPO
from sensitivity_tf import cli, train_config
from sensitivity_tf.reproduce import driver
from sensitivity_tf.survey import study

CONFIGS = sorted(p for p in (REPO / "configs").glob("*.py") if not p.name.startswith("_"))


def validate_experiment(cfg):
  driver.validate_config(cfg)
  return cfg


VALIDATORS = {"train": lambda cfg: train_config.merge(cfg, {}),
              "survey": lambda cfg: study.validate(cfg),
              "reproduce": validate_experiment}


def validator_for(path):
  return VALIDATORS[path.stem.split("_")[0]]


class ConfigsTest(parameterized.TestCase, tf.test.TestCase):

  def test_configs_exist(self):
    self.assertNotEmpty(CONFIGS)
    from sensitivity_tf.reproduce.experiments import EXPERIMENTS
    names = {p.stem for p in CONFIGS}
    for experiment in EXPERIMENTS:  # every registered experiment has its config
      self.assertIn(f"reproduce_{experiment}", names)

  @parameterized.named_parameters((p.stem, p) for p in CONFIGS)
  def test_builds_validates_and_documents(self, path):
    module = cli.load_config_module(str(path))
    for word in ("Command:", "Runtime:", "Result:", "Quick:"):
      self.assertIn(word, module.__doc__, f"{path.name}'s docstring lacks {word!r}")
    validate = validator_for(path)
    full, quick = validate(module.get_config()), validate(module.get_config("quick"))
    self.assertNotEqual(dict(full), dict(quick))
    if not path.stem.startswith("train"):  # studies and experiments also have the cluster size
      paper = validate(module.get_config("paper"))
      self.assertNotEqual(dict(paper), dict(full))
    if path.stem.startswith("reproduce_"):
      self.assertEqual(module.get_config().experiment, path.stem[len("reproduce_"):])
    with self.assertRaisesRegex(ValueError, "no-such-mode"):
      module.get_config("no-such-mode")


if __name__ == "__main__":
  tf.test.main()
