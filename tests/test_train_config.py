"""The typed training config: precedence, types, immutability, identity, and what a run
directory gives back (its config, dataset and initial model)."""

import dataclasses
import json
import tempfile

import numpy as np
import tensorflow as tf

from conftest import MNIST_NPZ
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.train.train_config import ConfigError, TrainConfig


class TrainConfigTest(tf.test.TestCase):

  def test_defaults_are_the_flag_defaults(self):
    cfg = TrainConfig()
    self.assertEqual(cfg.to_dict(), {k: v[0] for k, v in train_config.FIELDS.items()})
    self.assertEqual(dict(cfg), cfg.to_dict())  # reads like the ConfigDict it replaces
    self.assertEqual(cfg["width"], cfg.width)
    self.assertEqual(dict(train_config.default_config()), cfg.to_dict())

  def test_precedence_defaults_then_mappings_then_overrides(self):
    cfg = TrainConfig.from_mapping({"width": 64, "depth": 3}, {"width": 128}, depth=1)
    self.assertEqual((cfg.width, cfg.depth), (128, 1))
    self.assertEqual(cfg.seed, 0)
    self.assertEqual(train_config.merge({"width": 32}, {"seed": 4}).to_dict(),
                     TrainConfig.from_mapping(width=32, seed=4).to_dict())

  def test_types_are_checked_and_coerced(self):
    self.assertEqual(TrainConfig.from_mapping(batch_size="full").batch_size, 0)
    lr = TrainConfig.from_mapping(learning_rate=1).learning_rate
    self.assertIsInstance(lr, float)
    self.assertEqual(lr, 1.0)
    with self.assertRaisesRegex(ConfigError, r"^width='wide' is invalid; allowed: a value of "
                                r"type int$"):
      TrainConfig.from_mapping(width="wide")
    with self.assertRaisesRegex(ConfigError, r"^unknown setting 'widht'; allowed: dataset, "):
      TrainConfig.from_mapping(widht=3)

  def test_every_config_is_valid_and_frozen(self):
    with self.assertRaisesRegex(ConfigError, r"^width=-3 is invalid; allowed: an integer >= 1$"):
      TrainConfig(width=-3)
    cfg = TrainConfig()
    with self.assertRaises(dataclasses.FrozenInstanceError):
      cfg.width = 3
    with self.assertRaisesRegex(ConfigError, "depth=-1"):
      cfg.replace(depth=-1)
    self.assertEqual(cfg.replace(depth=4).depth, 4)
    self.assertEqual(cfg.depth, 2)  # unchanged

  def test_identity_fields_carry_their_flag_in_the_field(self):
    non_identity = [f.name for f in dataclasses.fields(TrainConfig)
                    if not f.metadata["identity"]]
    self.assertCountEqual(non_identity, ["data_dir", "checkpoint_every_secs", "progress",
                                         "history_test_points"])
    a = TrainConfig(data_dir="/a", progress=False)
    b = TrainConfig(data_dir="/b", progress=True)
    self.assertEqual(a.identity(), b.identity())
    self.assertNotEqual(a.identity(), TrainConfig(seed=1).identity())
    for f in dataclasses.fields(TrainConfig):
      self.assertNotEmpty(f.metadata["help"], f.name)


class RunDirectoryGivesBackTest(tf.test.TestCase):

  def test_config_dataset_and_initial_model(self):
    with tempfile.TemporaryDirectory() as d:
      cfg = TrainConfig.from_mapping(
          dataset="mnist", data_dir=str(MNIST_NPZ), train_subset=200, depth=1, width=16,
          max_steps=20, batch_size=50, progress=False)
      train_run.train(cfg, d, log=lambda *_: None)
      run = run_dir_lib.RunDirectory(d)
      self.assertEqual(run.train_config(), cfg)
      # config.json is what the config gives back from
      self.assertEqual(json.loads((run.path / "config.json").read_text())["config"],
                       cfg.to_dict())
      dataset = run.load_dataset()
      self.assertEqual(dataset.fingerprint, run.config()["data"]["fingerprint"])
      self.assertLen(dataset.x_train, 200)
      initial, trained = run.initial_model(), run.load_model()
      model = train_run.build_model(cfg, dataset)  # the same seed builds the same weights
      for got, want in zip(initial.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
      self.assertFalse(all(np.array_equal(a, b) for a, b in
                           zip(initial.get_weights(), trained.get_weights())))
