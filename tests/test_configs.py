"""Every config in configs/ builds and validates, in each of its modes, and documents itself."""

import pytest
import tensorflow as tf
from absl.testing import parameterized

import os
import tempfile

from conftest import REPO, assert_one_line_error, run_bin
from sensitivity_tf.commands import cli
from sensitivity_tf.commands import config_files
from sensitivity_tf.train import train_config
from sensitivity_tf.data import registry
from sensitivity_tf.reproduce import reproduction
from sensitivity_tf.survey import design
from sensitivity_tf.survey import study

# configs/_common.py holds what the configs share; it is not a config itself.
CONFIGS = sorted(p for p in (REPO / "configs").glob("*.py") if not p.name.startswith("_"))


def validate_experiment(cfg):
  reproduction.validate_config(cfg)  # every survey and network it names, on each of its datasets
  return cfg


def validate_survey(cfg):
  for dataset in registry.DATASETS:  # bin/survey --dataset may choose any
    study.validate(dict(cfg.to_dict(), dataset=dataset))
  return study.validate(cfg)


VALIDATORS = {"train": lambda cfg: train_config.merge(cfg, {}),
              "survey": validate_survey,
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
    module = config_files.load_config_module(str(path))
    for word in ("Command:", "Runtime:", "Result:", "Quick:"):
      self.assertIn(word, module.__doc__, f"{path.name}'s docstring lacks {word!r}")
    validate = validator_for(path)
    full, quick = validate(module.get_config()), validate(module.get_config("quick"))
    self.assertNotEqual(dict(full), dict(quick))
    if not path.stem.startswith("train"):  # studies and experiments: every preset
      built = {preset: validate(module.get_config(preset)) for preset in ("tiny", "small",
                                                                          "paper")}
      self.assertEqual(dict(built["small"]), dict(full))
      self.assertEqual(dict(built["tiny"]), dict(quick))  # quick is the tiny preset
      self.assertNotEqual(dict(built["paper"]), dict(full))
      for preset, cfg in built.items():
        self.assertEqual(cfg["preset"], preset)
    if path.stem.startswith("reproduce_"):
      self.assertEqual(module.get_config().experiment, path.stem[len("reproduce_"):])
    with self.assertRaisesRegex(ValueError, "no-such-mode"):
      module.get_config("no-such-mode")

  def test_the_measures_experiment_refuses_studies_that_keep_no_weights(self):
    module = config_files.load_config_module(str(REPO / "configs" / "reproduce_measures.py"))
    for preset in ("tiny", "small", "paper"):  # every preset keeps the weights it reads
      cfg = module.get_config(preset)
      self.assertEqual({s.keep for s in [cfg.survey, cfg.grid, *cfg.pairs.values()]}, {"all"})
    cfg = module.get_config("small")
    cfg.grid.keep = "tables"
    with self.assertRaisesRegex(train_config.ConfigError,
                                r"^grid.keep='tables' is invalid .*allowed: 'all'"):
      reproduction.validate_config(cfg)

  def test_every_network_of_the_small_preset_trains_past_the_first_fit(self):
    for name in ("capacity", "correlation", "factors", "points", "regions", "trajectories"):
      cfg = config_files.experiment_config(name, "small")
      studies = [cfg[k] for k in ("survey", "grid") if k in cfg]
      studies += list(cfg.pairs.values()) if "pairs" in cfg else []
      for s in studies:
        self.assertEqual(s.fixed.stop_rule, "budget", (name, s.name))
        for dataset in cfg.datasets:  # the same budget for every network of a study
          fixed = design.for_dataset(dict(s.to_dict(), dataset=dataset), "fixed")
          self.assertEqual((fixed["stop_rule"], fixed["max_steps"]),
                           ("budget", s.fixed.max_steps))
      if "network" in cfg:
        self.assertEqual(cfg.network.stop_rule, "budget", name)

  def test_the_survey_of_bin_survey_is_the_survey_of_bin_reproduce(self):
    survey = config_files.load_config_file(str(REPO / "configs" / "survey_default.py"), "small")
    for name in ("capacity", "correlation", "points"):
      inside = config_files.load_config_file(str(REPO / "configs" / f"reproduce_{name}.py"), "small")
      self.assertEqual(inside.survey.to_dict(), survey.to_dict())
    pairs = config_files.load_config_file(str(REPO / "configs" / "survey_pairs_nonlinearity.py"), "small")
    factors = config_files.load_config_file(str(REPO / "configs" / "reproduce_factors.py"), "small")
    self.assertEqual(factors.pairs.nonlinearity.to_dict(), pairs.to_dict())


class ConfigFilesTest(tf.test.TestCase):
  """A --config value is a file, or a config's name found from any directory."""

  def test_names_resolve_from_any_directory(self):
    self.assertEqual(config_files.directory(), REPO / "configs")  # a checkout
    self.assertEqual(config_files.names(), [p.stem for p in CONFIGS])
    train = str(REPO / "configs" / "train.py")
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
      os.chdir(d)
      try:
        for value in ("train", "train.py", "configs/train.py"):
          self.assertEqual(config_files.resolve(value), train)
          self.assertEqual(config_files.resolve(value + ":quick"), train + ":quick")
        pathlib_file = os.path.join(d, "train.py")  # a file of one's own wins over the name
        open(pathlib_file, "w").close()
        self.assertEqual(config_files.resolve("train.py"), "train.py")
        for unknown in ("nope", "configs/nope.py", "other/train.py", ""):
          self.assertEqual(config_files.resolve(unknown), unknown)
      finally:
        os.chdir(here)
    self.assertEqual(config_files.path("reproduce_capacity"),
                     str(REPO / "configs" / "reproduce_capacity.py"))

  @pytest.mark.slow
  def test_unknown_name_lists_the_configs(self):
    proc = run_bin("train", "--config=nope:quick", "--output_dir=/nonexistent/x", timeout=120)
    assert_one_line_error(self, proc, "error: --config=nope: no such file, and no config of "
                          "that name; configs: reproduce_capacity, ")
    self.assertIn("survey_default", proc.stderr)


if __name__ == "__main__":
  tf.test.main()
