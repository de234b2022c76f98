"""FC networks: parameter counts, pre-activations by hand, codes, initialization, saving."""

import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from oracles import NUMPY_FNS
from sensitivity_tf.networks import models
from sensitivity_tf.networks import nonlinearities

class ModelTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.product(depth=[0, 1, 3], width=[1, 7, 64], classes=[2, 10], dim=[5, 784])
  def test_parameter_count_matches_formula(self, depth, width, classes, dim):
    model = models.build_fc_network(dim, classes, depth, width)
    self.assertEqual(models.num_weights(model), models.count_weights(dim, classes, depth, width))

  @parameterized.parameters(*NUMPY_FNS)
  def test_pre_activations_equal_hand_computation(self, name):
    model = models.build_fc_network(6, 4, depth=3, width=5, nonlinearity=name, bias_scale=0.5,
                                    seed=2)
    x = np.random.default_rng(1).normal(size=(9, 6)) * 3
    outputs = models.pre_activation_model(model)(x.astype(np.float32))
    h = x
    for i, layer in enumerate(models.hidden_layers(model)):
      w, b = (v.numpy().astype(np.float64) for v in layer.weights)
      z = h @ w + b
      self.assertAllClose(outputs[i], z, rtol=1e-5, atol=1e-5)
      h = NUMPY_FNS[name](z)
    w, b = (v.numpy().astype(np.float64) for v in model.get_layer("logits").weights)
    self.assertAllClose(outputs[-1], h @ w + b, rtol=1e-5, atol=1e-5)
    self.assertAllClose(model(x.astype(np.float32)), outputs[-1])
    self.assertIs(models.nonlinearity_of(model), nonlinearities.get(name))

  def test_sibling_model_shares_weights(self):
    model = models.build_fc_network(3, 2, depth=1, width=4)
    sibling = models.pre_activation_model(model)
    model.get_layer("hidden_0").kernel.assign(tf.ones((3, 4)))
    self.assertAllClose(sibling(tf.ones((1, 3)))[0], np.full((1, 4), 3.0))
    self.assertLen(model.outputs, 1)

  def test_initialization_variance(self):
    for scale in (1.0, 2.0):
      model = models.build_fc_network(1000, 10, depth=1, width=1000, weight_scale=scale,
                                      bias_scale=0.3, seed=0)
      kernel = model.get_layer("hidden_0").kernel.numpy()
      self.assertAllClose(kernel.var() * 1000, scale, rtol=0.02)
      self.assertAllClose(model.get_layer("hidden_0").bias.numpy().std(), 0.3, rtol=0.1)
    same = [models.build_fc_network(8, 3, 2, 5, seed=s).get_weights()[0] for s in (4, 4, 5)]
    self.assertAllEqual(same[0], same[1])
    self.assertNotAllClose(same[0], same[2])

  @parameterized.parameters(*NUMPY_FNS)
  def test_save_and_reload_keeps_function(self, name):
    model = models.build_fc_network(4, 3, depth=2, width=6, nonlinearity=name, seed=1)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32) * 4
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "m.keras")
      model.save(path)
      loaded = keras.saving.load_model(path, compile=False)
    self.assertAllClose(loaded(x), model(x))
    self.assertIs(models.nonlinearity_of(loaded), nonlinearities.get(name))

  @pytest.mark.slow
  def test_saved_model_loads_in_a_process_that_never_imports_the_package(self):
    # Every nonlinearity in one file: one subprocess instead of five.
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32) * 4
    with tempfile.TemporaryDirectory() as d:
      for name in NUMPY_FNS:
        model = models.build_fc_network(4, 3, depth=2, width=6, nonlinearity=name, seed=1)
        model.save(os.path.join(d, f"{name}.keras"))
        np.save(os.path.join(d, f"{name}.npy"), model(x).numpy())
      np.save(os.path.join(d, "x.npy"), x)
      script = (
          "import sys, numpy as np, keras\n"
          "d = sys.argv[1]\n"
          "x = np.load(d + '/x.npy')\n"
          f"for name in {list(NUMPY_FNS)!r}:\n"
          "  m = keras.saving.load_model(f'{d}/{name}.keras', compile=False)\n"
          "  assert np.allclose(m(x).numpy(), np.load(f'{d}/{name}.npy'), atol=1e-6), name\n"
          "assert not any(k.startswith('sensitivity_tf') for k in sys.modules), 'imported'\n"
          "print('ok')\n")
      env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
      proc = subprocess.run([sys.executable, "-c", script, d], capture_output=True, text=True,
                            env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"), cwd=d, timeout=300)
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    self.assertEqual(proc.stdout.strip(), "ok")

  def test_models_saved_with_the_old_registered_functions_still_load(self):
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32) * 4
    for legacy in nonlinearities.LEGACY_FUNCTIONS:
      inputs = keras.Input((4,))
      h = keras.layers.Activation(legacy, name="act_0")(keras.layers.Dense(6, name="hidden_0")(inputs))
      model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(h))
      with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "old.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, compile=False)
      self.assertAllClose(loaded(x), model(x))
      self.assertIs(models.nonlinearity_of(loaded), nonlinearities.get(legacy.__name__))

  def test_invalid_shapes(self):
    with self.assertRaisesRegex(ValueError, "depth=-1 is invalid"):
      models.build_fc_network(3, 2, depth=-1, width=4)
    with self.assertRaisesRegex(ValueError, "width=0 is invalid"):
      models.build_fc_network(3, 2, depth=1, width=0)
    with self.assertRaisesRegex(ValueError, "unknown nonlinearity 'gelu'; allowed: relu"):
      models.build_fc_network(3, 2, depth=1, width=4, nonlinearity="gelu")


class NonlinearityTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*NUMPY_FNS)
  def test_function_derivative_and_codes(self, name):
    nl = nonlinearities.get(name)
    z = np.linspace(-8, 8, 1601)  # includes every breakpoint exactly
    self.assertAllClose(nl.fn(tf.constant(z)), NUMPY_FNS[name](z), atol=1e-12)
    # Derivative against central differences away from breakpoints.
    away = np.all(np.abs(z[:, None] - np.array(nl.breakpoints)[None]) > 1e-3, axis=1)
    h = 1e-6
    fd = (NUMPY_FNS[name](z + h) - NUMPY_FNS[name](z - h)) / (2 * h)
    self.assertAllClose(nl.derivative(tf.constant(z)).numpy()[away], fd[away], atol=1e-6)
    codes = nl.code(tf.constant(z)).numpy()
    self.assertAllEqual(codes, nl.code_numpy(z))
    self.assertEqual(codes.max() + 1, nl.num_pieces)
    # On a breakpoint the code is that of the piece to its right.
    for i, b in enumerate(nl.breakpoints):
      self.assertEqual(nl.code_numpy(np.array([b]))[0], i + 1)
      self.assertEqual(nl.code_numpy(np.array([b - 1e-9]))[0], i)
    if nl.piecewise_linear:
      # Within a piece the slope is the registered one.
      for i, slope in enumerate(nl.slopes):
        inside = (codes == i) & away
        self.assertAllClose(fd[inside], np.full(inside.sum(), slope), atol=1e-6)

  @parameterized.parameters(*NUMPY_FNS)
  def test_keras_builtin_is_the_legacy_definition(self, name):
    # The codes' breakpoints (e.g. hard_sigmoid = relu6(z + 3) / 6: -3, +3) were written for
    # the legacy functions; the Keras built-ins the models now use must be the same functions.
    z = tf.constant(np.linspace(-8, 8, 3201), tf.float32)
    legacy = getattr(nonlinearities, name)
    self.assertIn(legacy, nonlinearities.LEGACY_FUNCTIONS)
    self.assertIs(nonlinearities.get(name).fn, getattr(keras.activations, name))
    self.assertAllClose(legacy(z), getattr(keras.activations, name)(z), atol=0, rtol=0)


if __name__ == "__main__":
  tf.test.main()
