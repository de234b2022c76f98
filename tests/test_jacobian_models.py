"""‖∂softmax/∂x‖_F of Keras classifiers we did not build (the GradientTape route), and the
choice between routes, against a float64 batch_jacobian of a float64 twin of each model."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import keras_zoo
import oracles
from sensitivity_tf.networks import classifier
from sensitivity_tf.metrics import jacobian

RTOL = 1e-5  # float32 network and gradients, float64 contraction


def expected_norms(build, model, x, *args, use_float32_logits=False, **kwargs):
  twin = keras_zoo.float64_twin(build, model, *args, **kwargs)
  g, f = keras_zoo.logit_jacobian64(lambda t: twin(t, training=False), x)
  if use_float32_logits:  # saturated: the model's own float32 logits (see test_jacobian)
    f = model(x, training=False).numpy()
  return oracles.spec_contraction_norms(g, f), g, f


class TapeRouteTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.product(name=keras_zoo.ACTIVATIONS, variant=["softmax", "logits"])
  def test_cnn_against_float64_batch_jacobian(self, name, variant):
    model = keras_zoo.cnn(name, seed=1)
    x = keras_zoo.images(7, (8, 8, 2), seed=2)
    expected, g, _ = expected_norms(keras_zoo.cnn, model, x, name, seed=1)
    if variant == "logits":
      expected = np.sqrt((g ** 2).sum(axis=(1, 2)))
    result = jacobian.JacobianNorm(model, variant=variant, batch_size=4)(x)
    self.assertEqual(result.settings["route"], "gradient_tape")
    self.assertAllClose(result.norms, expected, rtol=RTOL, atol=0)
    # Flat inputs are reshaped to the model's input shape (the norm is over all elements).
    flat = jacobian.JacobianNorm(model, variant=variant, batch_size=4)(x.reshape(7, -1))
    self.assertAllClose(flat.norms, result.norms, rtol=1e-6)

  @parameterized.product(gap=[20, 40, 100], name=["relu", "tanh", "leaky_relu"])
  def test_saturated_logits(self, gap, name):
    model = keras_zoo.cnn(name, seed=3)
    x = keras_zoo.images(1, (8, 8, 2), seed=4)
    top2 = np.sort(model(x, training=False).numpy()[0])[-2:]
    layer = model.layers[-1]
    factor = gap / (top2[1] - top2[0])
    layer.kernel.assign(layer.kernel * factor)
    layer.bias.assign(layer.bias * factor)
    expected, g, f = expected_norms(keras_zoo.cnn, model, x, name, seed=3,
                                    use_float32_logits=True)
    result = jacobian.JacobianNorm(model, batch_size=1)(x)
    self.assertGreater(expected[0], 0)
    self.assertAllClose(result.norms, expected, rtol=RTOL, atol=0)
    self.assertLess(result.norms[0], np.exp(-0.5 * gap) * np.abs(g).sum())
    if gap >= 40:  # where the naive contraction fails, ours does not
      self.assertGreater(abs(oracles.naive_norms(g, f)[0] / expected[0] - 1), 1e-2)

  @parameterized.parameters("dense_softmax", "softmax_layer", "activation_softmax", "ops_softmax")
  def test_softmax_final_models_use_the_pre_activation(self, final):
    logits_model = keras_zoo.cnn("relu", seed=5)
    model = keras_zoo.cnn("relu", seed=5, final=final)
    model.set_weights(logits_model.get_weights())
    x = keras_zoo.images(6, (8, 8, 2), seed=6)
    norms = jacobian.JacobianNorm(model, batch_size=3)
    self.assertIn("softmax", norms.settings["logits"])
    self.assertAllClose(norms(x).norms, jacobian.JacobianNorm(logits_model)(x).norms, rtol=1e-6)

  @parameterized.parameters(*keras_zoo.ACTIVATIONS)
  def test_sequential_and_subclassed(self, name):
    x = keras_zoo.images(5, (6, 6, 1), seed=7)
    model = keras_zoo.sequential_cnn(name, seed=8)
    expected, _, _ = expected_norms(keras_zoo.sequential_cnn, model, x, name, seed=8)
    self.assertAllClose(jacobian.JacobianNorm(model)(x).norms, expected, rtol=RTOL)
    sub = keras_zoo.Subclassed(name)
    sub(x)
    sub.set_weights(model.get_weights())
    result = jacobian.JacobianNorm(sub, batch_size=2)(x)
    self.assertEqual(result.settings["route"], "gradient_tape")
    self.assertAllClose(result.norms, expected, rtol=RTOL)

  @parameterized.parameters(*keras_zoo.ACTIVATIONS)
  def test_routes_agree_and_the_fc_route_is_chosen_for_dense_stacks(self, name):
    model = keras_zoo.mlp(name, seed=9)
    x = keras_zoo.images(9, (12,), seed=10, scale=2.0)
    expected, _, _ = expected_norms(keras_zoo.mlp, model, x, name, seed=9)
    auto = jacobian.JacobianNorm(model)(x)
    tape = jacobian.JacobianNorm(model, route="gradient_tape")(x)
    self.assertEqual(auto.settings["route"], "gram")  # first width 9 < d = 12
    self.assertEqual(tape.settings["route"], "gradient_tape")
    self.assertAllClose(auto.norms, expected, rtol=2e-6)
    self.assertAllClose(tape.norms, expected, rtol=RTOL)
    self.assertAllClose(auto.norms, tape.norms, rtol=RTOL)

  def test_a_rescaling_layer_takes_the_general_route(self):
    model = keras_zoo.mlp("relu", rescale=True, seed=11)
    x = keras_zoo.images(8, (12,), seed=12)
    self.assertIsNone(classifier.fc_stack(model))
    expected, _, _ = expected_norms(keras_zoo.mlp, model, x, "relu", rescale=True, seed=11)
    result = jacobian.JacobianNorm(model)(x)
    self.assertEqual(result.settings["route"], "gradient_tape")
    self.assertAllClose(result.norms, expected, rtol=RTOL)
    with self.assertRaisesRegex(classifier.ClassifierError, "not a plain Dense stack"):
      jacobian.JacobianNorm(model, route="fc")

  def test_projection_estimate_on_the_tape_route(self):
    model = keras_zoo.cnn("relu", classes=8, seed=13)
    x = keras_zoo.images(60, (8, 8, 2), seed=14)
    exact = jacobian.JacobianNorm(model)(x).norms
    estimate = jacobian.JacobianNorm(model, num_projections=16, seed=1)(x).norms
    ratio = estimate ** 2 / exact ** 2
    bound = jacobian.estimator_relative_error(16)
    self.assertLess(np.std(ratio), bound * 1.2)
    self.assertAllClose(np.mean(ratio), 1.0, atol=4 * bound / np.sqrt(len(x)))


class RefusalTest(tf.test.TestCase):

  def assert_refused(self, model, message, x=None):
    with self.assertRaisesRegex(classifier.ClassifierError, message) as ctx:
      norms = jacobian.JacobianNorm(model)
      norms(x if x is not None else np.zeros((2, 4), np.float32))
    self.assertNotIn("\n", str(ctx.exception))

  def test_unreachable_logits(self):
    x = keras.Input((4,))
    h = keras.layers.Dense(3)(x)
    self.assert_refused(keras.Model(x, keras.layers.Dense(3, activation="sigmoid")(h)),
                        "applies sigmoid; its logits cannot be reached")
    self.assert_refused(keras.Model(x, keras.layers.Activation("sigmoid")(h)),
                        "applies sigmoid")
    self.assert_refused(keras.Model(x, [h, h]), "has 2 outputs")
    self.assert_refused(keras.Model(x, keras.layers.Dense(1)(h)), r"output shape \(None, 1\)")
    sub = keras_zoo.Subclassed(softmax=True)
    self.assert_refused(sub, "outputs probabilities", x=keras_zoo.images(3, (6, 6, 1)))

  def test_inputs_that_do_not_fit(self):
    model = keras_zoo.cnn("relu")
    with self.assertRaisesRegex(ValueError, r"inputs of shape \(5,\) do not fit the model's "
                                r"input shape \(8, 8, 2\)"):
      jacobian.JacobianNorm(model)(np.zeros((3, 5), np.float32))


if __name__ == "__main__":
  tf.test.main()
