"""Transitions of models that are not plain Dense stacks (CNNs), against codes computed
independently in NumPy float64 from an unfused twin's layer outputs, at several k."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import keras_zoo
from sensitivity_tf.networks import classifier
from sensitivity_tf.metrics import transitions
from sensitivity_tf.metrics.trajectories import Ellipse

BREAKPOINTS = {"relu": [0.0], "relu6": [0.0, 6.0], "hard_tanh": [-1.0, 1.0],
               "hard_sigmoid": [-3.0, 3.0], "tanh": [0.0], "leaky_relu": [0.0]}


def oracle_counts(name, model, ellipse, k):
  """Σ_i ‖c(z_i) − c(z_{i+1})‖₁ around the loop: piece codes of the three pre-activations
  (NumPy searchsorted) and the argmax position in each 2x2 pooling window (a change = 1)."""
  with keras_zoo.floatx("float64"):
    twin = keras_zoo.unfused_cnn(name, fuse=False)
  twin.set_weights([w.astype(np.float64) for w in model.get_weights()])
  names = ("conv_0", "conv_1", "dense_0")
  probe = keras.Model(twin.inputs[0], [twin.get_layer(n).output for n in names])
  phis = 2 * np.pi * np.arange(k) / k
  x = (np.stack([np.ones(k), np.cos(phis), np.sin(phis)], 1) @ ellipse.basis).reshape(
      (k,) + tuple(twin.inputs[0].shape[1:]))
  pre = [z.numpy() for z in probe(x, training=False)]
  pieces = np.concatenate([np.searchsorted(BREAKPOINTS[name], z.reshape(k, -1), side="right")
                           for z in pre], axis=1)
  act = keras_zoo.activation_layer(name)(pre[0]).numpy()          # (k, 6, 6, 3)
  windows = act.reshape(k, 3, 2, 3, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(k, -1, 4)
  argmax = windows.argmax(axis=2)
  steps = (np.abs(pieces - np.roll(pieces, -1, axis=0)).sum(1)
           + (argmax != np.roll(argmax, -1, axis=0)).sum(1))
  return int(steps.sum())


class GraphTransitionsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*keras_zoo.ACTIVATIONS)
  def test_cnn_against_independent_codes_at_finer_k(self, name):
    model = keras_zoo.unfused_cnn(name, seed=1)
    rng = np.random.default_rng(2)
    ellipse = Ellipse.through(*(rng.normal(size=(3, 72)) * 2.0))
    counts = {}
    for k in (96, 768, 6144):
      counter = transitions.TransitionCounter(model, num_samples=k, bins=6)
      result = counter.along([ellipse])
      counts[k] = int(result.counts[0])
      self.assertEqual(counts[k], oracle_counts(name, model, ellipse, k), k)
      self.assertEqual(result.bin_counts.sum(), counts[k])
    self.assertEqual(counter.settings["route"], "graph")
    self.assertEqual(counter.settings["piecewise_linear"], name != "tanh")
    self.assertLen(counter.settings["code_sites"], 4)  # 3 activations + the pool's argmax
    # Sampling at k misses crossings that undo each other: the count grows with k.
    self.assertLessEqual(counts[96], counts[768])
    self.assertLessEqual(counts[768], counts[6144])
    self.assertGreater(counts[6144], 0)

  def test_codes_cannot_be_obtained_refusals_name_the_layer(self):
    x = keras.Input((4, 4, 1))
    h = keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * t, name="square")(x))
    with self.assertRaisesRegex(classifier.ClassifierError, "layer 'square' \\(Lambda\\)"):
      transitions.TransitionCounter(keras.Model(x, keras.layers.Dense(3)(h)), num_samples=6,
                                    bins=6)
    h = keras.layers.MaxPooling2D(3, strides=1, name="overlap")(x)
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    with self.assertRaisesRegex(classifier.ClassifierError, "layer 'overlap'.*non-overlapping"):
      transitions.TransitionCounter(model, num_samples=6, bins=6)
    with self.assertRaisesRegex(classifier.ClassifierError, "subclassed"):
      sub = keras_zoo.Subclassed()
      sub(np.zeros((1, 6, 6, 1), np.float32))
      transitions.TransitionCounter(sub, num_samples=6, bins=6)

  @parameterized.parameters("relu", "hard_tanh", "leaky_relu")
  def test_plain_dense_stacks_of_any_origin_take_the_fc_route_and_routes_agree(self, name):
    model = keras_zoo.mlp(name)
    ellipses = [Ellipse.through(*np.random.default_rng(s).normal(size=(3, 12)) * 3)
                for s in range(3)]
    fc = transitions.TransitionCounter(model, num_samples=768, bins=6)
    graph = transitions.TransitionCounter(model, num_samples=768, bins=6, route="graph")
    self.assertEqual(fc.settings["route"], "fc")
    self.assertEqual(graph.settings["route"], "graph")
    self.assertAllEqual(fc.along(ellipses).counts, graph.along(ellipses).counts)
    self.assertGreater(fc.along(ellipses).counts.sum(), 0)
    self.assertEqual(transitions.TransitionCounter(
        keras_zoo.mlp(name, rescale=True), 6, 6).settings["route"], "graph")


if __name__ == "__main__":
  tf.test.main()
