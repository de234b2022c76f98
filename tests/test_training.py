"""The training loop: stopping rule, divergence, determinism, resumption, run directories."""

import os
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from conftest import MNIST_NPZ, tiny_dataset
from sensitivity_tf.networks import models
from sensitivity_tf.store import run_dir
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run
from sensitivity_tf.train import training


def tiny_config(**overrides):
  cfg = train_config.default_config()
  cfg.update(dict(depth=1, width=32, learning_rate=0.01, batch_size=16, max_steps=400,
                  progress=False, checkpoint_every_secs=1e-6), **overrides)
  return cfg


def trainer_for(dataset, cfg):
  model = train_run.build_model(cfg, dataset)
  return training.Trainer(model, dataset, cfg)


class TrainerTest(parameterized.TestCase, tf.test.TestCase):

  def test_tiny_problem_reaches_full_training_accuracy(self):
    ds = tiny_dataset()
    trainer = trainer_for(ds, tiny_config(stop_rule="first_fit"))
    result = trainer.run()
    self.assertEqual(result.stop_reason, "target_accuracy")
    self.assertEqual(trainer.evaluate(ds.x_train, ds.y_train)[1], 1.0)
    self.assertLess(result.steps, 400)
    # Stopped at the first evaluation that met the target.
    self.assertTrue(all(r.train_accuracy < 1.0 for r in result.history[:-1]))

  def test_step_cap(self):
    trainer = trainer_for(tiny_dataset(), tiny_config(learning_rate=1e-6, max_steps=30,
                                                      eval_every=7, stop_rule="first_fit"))
    result = trainer.run()
    self.assertEqual(result.stop_reason, "max_steps")
    self.assertEqual(result.steps, 30)
    self.assertEqual([r.step for r in result.history], [7, 14, 21, 28, 30])

  def test_divergence_is_a_status(self):
    trainer = trainer_for(tiny_dataset(), tiny_config(optimizer="sgd", learning_rate=1e12,
                                                      weight_scale=50.0))
    result = trainer.run()
    self.assertEqual(result.stop_reason, "diverged")
    self.assertLess(result.steps, 400)

  def test_mini_batches_are_epoch_permutations(self):
    trainer = trainer_for(tiny_dataset(n_train=64), tiny_config(batch_size=16))
    idx = trainer.batch_indices(0, 8)
    self.assertEqual(idx.shape, (8, 16))
    np.testing.assert_array_equal(np.sort(idx[:4].ravel()), np.arange(64))
    np.testing.assert_array_equal(np.sort(idx[4:].ravel()), np.arange(64))
    self.assertFalse(np.array_equal(idx[:4], idx[4:]))
    np.testing.assert_array_equal(trainer.batch_indices(3, 3), idx[3:6])

  @parameterized.parameters(0, 10 ** 6)
  def test_full_batch(self, batch_size):
    trainer = trainer_for(tiny_dataset(n_train=60), tiny_config(batch_size=batch_size))
    self.assertEqual(trainer.batch_size, 60)
    self.assertEqual(trainer.eval_every, 20)
    np.testing.assert_array_equal(np.sort(trainer.batch_indices(5, 1)[0]), np.arange(60))

  @parameterized.parameters(False, True)
  def test_same_seeds_same_weights(self, augment):
    ds = tiny_dataset(image_shape=(28, 28, 1), n_train=48)
    weights = []
    for _ in range(2):
      trainer = trainer_for(ds, tiny_config(max_steps=25, augment=augment, target_accuracy=1.0))
      trainer.run()
      weights.append(trainer.model.get_weights())
    for a, b in zip(*weights):
      self.assertAllEqual(a, b)

  def test_accuracy_is_on_unaugmented_data_with_trained_labels(self):
    ds = tiny_dataset(image_shape=(28, 28, 1), n_train=60, random_label_fraction=0.5,
                      label_seed=3)
    trainer = trainer_for(ds, tiny_config(max_steps=20, augment=True))
    result = trainer.run()
    logits = trainer.model(ds.x_train).numpy()
    self.assertEqual(result.history[-1].train_accuracy,
                     np.mean(logits.argmax(1) == ds.y_train))


class StopRuleOnRealDataTest(tf.test.TestCase):
  """Both stop rules on 100 real MNIST images (a network fits them within ~100 steps)."""

  def _train(self, d, **overrides):
    cfg = tiny_config(dataset="mnist", data_dir=str(MNIST_NPZ.parent), train_subset=100,
                      width=64, batch_size=20, eval_every=10, **overrides)
    return train_run.train(cfg, d, log=lambda *_: None), run_dir.RunDirectory(d)

  def test_budget_trains_past_the_first_fit_and_records_both(self):
    with tempfile.TemporaryDirectory() as d:
      metrics, run = self._train(d, max_steps=300)
      history = run.history()
      self.assertEqual(metrics["stop_reason"], "budget")
      self.assertEqual(metrics["steps"], 300)
      self.assertEqual(metrics["stop_rule"], "budget")
      self.assertEqual(metrics["target_accuracy"], 1.0)  # auto with 10 classes
      first = next(r for r in history if r.train_accuracy >= 1.0)  # independent read
      self.assertLess(first.step, 200)  # fit well inside the budget ...
      self.assertEqual(metrics["first_fit_step"], first.step)
      self.assertEqual(metrics["first_fit_train_loss"], first.train_loss)
      self.assertEqual(metrics["first_fit_wall_secs"], first.wall_time)
      self.assertTrue(metrics["reached_target"])  # ... judged on the final network
      self.assertEqual(metrics["train_accuracy"], 1.0)
      self.assertLess(metrics["train_loss"], first.train_loss / 2)  # kept training
      self.assertGreater(metrics["wall_time_secs"], metrics["first_fit_wall_secs"])

  def test_first_fit_stops_at_the_first_evaluation_at_100_percent(self):
    with tempfile.TemporaryDirectory() as d:
      metrics, run = self._train(d, max_steps=300, stop_rule="first_fit")
      history = run.history()
      self.assertEqual(metrics["stop_reason"], "target_accuracy")
      self.assertEqual(metrics["steps"], history[-1].step)
      self.assertEqual(metrics["first_fit_step"], metrics["steps"])
      self.assertTrue(all(r.train_accuracy < 1.0 for r in history[:-1]))
      self.assertEqual(history[-1].train_accuracy, 1.0)
      self.assertEqual(run.config()["config"]["stop_rule"], "first_fit")

  def test_a_network_that_never_fits_records_no_first_fit(self):
    with tempfile.TemporaryDirectory() as d:
      metrics, _ = self._train(d, max_steps=20, learning_rate=1e-6)
      self.assertFalse(metrics["reached_target"])
      self.assertIsNone(metrics["first_fit_step"])
      self.assertIsNone(metrics["first_fit_train_loss"])


class RunDirectoryTest(tf.test.TestCase):

  def test_run_directory_contents(self):
    ds = tiny_dataset()
    with tempfile.TemporaryDirectory() as d:
      metrics = train_run.train(tiny_config(), d, dataset=ds, log=lambda *_: None)
      run = run_dir.RunDirectory(d).check_finished()
      for name in (run_dir.CONFIG, run_dir.METRICS, run_dir.MODEL, run_dir.INITIAL_WEIGHTS,
                   run_dir.HISTORY):
        self.assertTrue(run.file(name).is_file(), name)
      self.assertFalse(run.file(run_dir.CHECKPOINT).exists())
      self.assertNotEmpty(os.listdir(run.file(run_dir.TENSORBOARD)))
      config = run.config()
      self.assertEqual(config["config"]["width"], 32)
      self.assertEqual(config["data"]["source"], "synthetic")
      self.assertEqual(config["derived"]["effective_batch_size"], 16)
      self.assertIn("tensorflow", config["versions"])
      self.assertIn("cpu_count", config["machine"])
      gpus = tf.config.list_logical_devices("GPU")  # the device the run was placed on
      self.assertEqual(config["machine"]["device"],
                       gpus[0].name if gpus else "/device:CPU:0")
      model = run.load_model()
      self.assertEqual(metrics["num_weights"], models.count_weights(16, 3, 1, 32))
      self.assertAllClose(metrics["generalization_gap"],
                          metrics["train_accuracy"] - metrics["test_accuracy"])
      acc = np.mean(model(ds.x_test).numpy().argmax(1) == ds.y_test)
      self.assertAllClose(metrics["test_accuracy"], acc)
      self.assertEqual(run.history()[-1].step, metrics["steps"])
      initial = models.build_fc_network(16, 3, 1, 32, seed=0)
      initial.load_weights(run.file(run_dir.INITIAL_WEIGHTS))
      fresh = train_run.build_model(tiny_config(), ds)
      for a, b in zip(initial.get_weights(), fresh.get_weights()):
        self.assertAllEqual(a, b)
      # A second call returns the finished run without training again.
      with mock.patch.object(training.Trainer, "run") as never:
        self.assertEqual(train_run.train(tiny_config(), d, dataset=ds, log=lambda *_: None),
                         metrics)
        never.assert_not_called()
      with self.assertRaisesRegex(run_dir.RunDirError, r"another configuration \(width: 32 != 8"):
        train_run.train(tiny_config(width=8), d, dataset=ds, log=lambda *_: None)

  def test_a_run_made_under_the_old_rule_is_refused_whole(self):
    ds = tiny_dataset()
    with tempfile.TemporaryDirectory() as d:
      train_run.train(tiny_config(max_steps=20), d, dataset=ds, log=lambda *_: None)
      run = run_dir.RunDirectory(d)
      record = run.config()
      del record["config"]["stop_rule"]  # what a run from before stop rules holds
      run.write_config(record)
      before = run.file(run_dir.METRICS).read_bytes()
      with self.assertRaisesRegex(run_dir.RunDirError, r"old rule .* delete that directory"):
        train_run.train(tiny_config(max_steps=20), d, dataset=ds, log=lambda *_: None)
      self.assertEqual(run.file(run_dir.METRICS).read_bytes(), before)

  def test_crash_then_rerun_resumes_to_identical_weights(self):
    ds = tiny_dataset(image_shape=(28, 28, 1), n_train=64)
    cfg = tiny_config(max_steps=60, eval_every=10, augment=True, learning_rate=1e-3)
    with tempfile.TemporaryDirectory() as d:
      uninterrupted = os.path.join(d, "a")
      train_run.train(cfg, uninterrupted, dataset=ds, log=lambda *_: None)
      crashed = os.path.join(d, "b")
      original = training.Trainer._stop_reason

      def crash_after_30(self, record, finite):
        if record.step >= 30:
          raise RuntimeError("simulated crash")
        return original(self, record, finite)

      with mock.patch.object(training.Trainer, "_stop_reason", crash_after_30):
        with self.assertRaisesRegex(RuntimeError, "simulated crash"):
          train_run.train(cfg, crashed, dataset=ds, log=lambda *_: None)
      run = run_dir.RunDirectory(crashed)
      self.assertFalse(run.is_finished())
      self.assertTrue(run.file(run_dir.CHECKPOINT).is_dir())
      with self.assertRaisesRegex(run_dir.RunDirError, "training has not finished"):
        run.check_finished()
      messages = []
      metrics = train_run.train(cfg, crashed, dataset=ds, log=messages.append)
      self.assertIn("resuming from step 20", messages[0])
      self.assertEqual(metrics["steps"], 60)
      a = run_dir.RunDirectory(uninterrupted).load_model().get_weights()
      b = run.load_model().get_weights()
      for x, y in zip(a, b):
        self.assertAllEqual(x, y)
      self.assertEqual([r.step for r in run.history()], [10, 20, 30, 40, 50, 60])

  def test_a_run_whose_model_a_tables_only_study_deleted_says_so(self):
    # keep="tables" deletes model.keras once the row is written: such a run finished, and
    # must not be told to resume training (what it said before).
    ds = tiny_dataset(image_shape=(28, 28, 1), n_train=64)
    with tempfile.TemporaryDirectory() as d:
      train_run.train(tiny_config(max_steps=20, eval_every=10), d, dataset=ds,
                      log=lambda *_: None)
      run = run_dir.RunDirectory(d)
      run.check_finished()
      run.file(run_dir.MODEL).unlink()
      with self.assertRaisesRegex(run_dir.RunDirError,
                                  r"finished, but its model is not kept .*keep='all'"):
        run.check_finished()

  def test_snapshots_are_the_weights_of_shorter_runs_and_survive_a_crash(self):
    ds = tiny_dataset()
    cfg = tiny_config(max_steps=60, eval_every=20, snapshot_steps="15,40,60")
    with tempfile.TemporaryDirectory() as d:
      original = training.Trainer._stop_reason

      def crash_after_45(self, record, finite):
        if record.step >= 45:
          raise RuntimeError("simulated crash")
        return original(self, record, finite)

      long_run = os.path.join(d, "long")
      with mock.patch.object(training.Trainer, "_stop_reason", crash_after_45):
        with self.assertRaisesRegex(RuntimeError, "simulated crash"):
          train_run.train(cfg, long_run, dataset=ds, log=lambda *_: None)
      train_run.train(cfg, long_run, dataset=ds, log=lambda *_: None)  # resumes
      run = run_dir.RunDirectory(long_run)
      self.assertEqual([r.step for r in run.history()], [15, 20, 40, 60])
      for step in (15, 40):  # the weights a run of that many steps ends with
        short = os.path.join(d, f"short{step}")
        train_run.train(tiny_config(max_steps=step, eval_every=20), short, dataset=ds,
                        log=lambda *_: None)
        model = run.load_model()
        model.load_weights(run.snapshot(step))
        for x, y in zip(model.get_weights(),
                        run_dir.RunDirectory(short).load_model().get_weights()):
          self.assertAllEqual(x, y)
      model.load_weights(run.snapshot(60))
      for x, y in zip(model.get_weights(), run.load_model().get_weights()):
        self.assertAllEqual(x, y)
    # Without snapshots a run's identity (and so every survey key) is what it was.
    self.assertNotIn("snapshot_steps", train_config.identity(tiny_config()))
    self.assertIn("snapshot_steps", train_config.identity(cfg))
    for bad in ("40,15", "0,10", "10,70", "ten"):
      with self.assertRaisesRegex(train_config.ConfigError,
                                  f"snapshot_steps='{bad}' is invalid; allowed: '' or "
                                  "comma-separated increasing steps in 1..max_steps=60"):
        train_config.validate(tiny_config(max_steps=60, snapshot_steps=bad))


if __name__ == "__main__":
  tf.test.main()
