"""The measure battery against independent computations: NumPy formulas from the raw weight
arrays, an explicit sum over paths, closed forms for linear classifiers (worst-case and
Gaussian weight perturbations), the float64 Jacobian oracle, and a real run directory."""

import itertools
import math

import keras
import numpy as np
import tensorflow as tf
from scipy import optimize
from scipy import stats

import oracles
from conftest import MNIST_NPZ
from sensitivity_tf import measures
from sensitivity_tf.measures import battery
from sensitivity_tf.measures import margins
from sensitivity_tf.measures import network as network_lib
from sensitivity_tf.measures import norms
from sensitivity_tf.measures import sensitivity
from sensitivity_tf.measures import sharpness
from sensitivity_tf.metrics import evaluation
from sensitivity_tf.networks import models

SMALL = battery.BatterySettings(test_points=40, test_point_ellipses=3, num_samples=96, bins=16,
                                mc_draws=3, search_iterations=6, sharpness_steps=3)


def _randomized(model, seed, scale=0.5):
  """Sets every weight and bias of ``model`` to seeded N(0, scale²) values; returns them."""
  rng = np.random.default_rng(seed)
  weights = [rng.normal(0, scale, w.shape).astype("float32") for w in model.get_weights()]
  model.set_weights(weights)
  return [w.astype(np.float64) for w in weights]


def _fc_net(depth=2, width=3, inputs=4, classes=3, n=60, nonlinearity="relu"):
  model = models.build_fc_network(inputs, classes, depth, width, nonlinearity, seed=0)
  initial = _randomized(model, 1)
  final = _randomized(model, 2)
  rng = np.random.default_rng(3)
  x = rng.uniform(size=(n, inputs)).astype("float32")
  y = rng.integers(0, classes, n)
  return network_lib.TrainedNetwork(model, initial, x, y, x[:20], y[:20]), final, initial


class NormsTest(tf.test.TestCase):

  def test_norms_equal_numpy_formulas(self):
    net, final, initial = _fc_net()
    kernels = final[0::2]
    kernels0 = initial[0::2]
    fro2 = [np.sum(k ** 2) for k in kernels]
    spec2 = [np.linalg.svd(k, compute_uv=False)[0] ** 2 for k in kernels]
    d = len(kernels)
    got = norms.compute(net)
    self.assertAllClose(got["param_norm"], sum(fro2))
    self.assertAllClose(got["frobenius_distance"],
                        sum(np.sum((k - k0) ** 2) for k, k0 in zip(kernels, kernels0)))
    self.assertAllClose(got["spectral_distance"], sum(
        np.linalg.svd(k - k0, compute_uv=False)[0] ** 2 for k, k0 in zip(kernels, kernels0)))
    self.assertAllClose(got["log_prod_of_fro"], math.log(np.prod(fro2)))
    self.assertAllClose(got["log_sum_of_fro"], math.log(d * np.prod(fro2) ** (1 / d)))
    self.assertAllClose(got["log_prod_of_spec"], math.log(np.prod(spec2)))
    self.assertAllClose(got["log_sum_of_spec"], math.log(d * np.prod(spec2) ** (1 / d)))
    self.assertAllClose(got["fro_over_spec"], sum(f / s for f, s in zip(fro2, spec2)))
    self.assertEqual(got["num_weights"], sum(w.size for w in final))

  def test_path_norm_is_the_sum_over_paths(self):
    """Every input-output path's product of squared weights, plus the paths that start at
    a bias, enumerated one by one."""
    net, final, _ = _fc_net(depth=2, width=3, inputs=2, classes=2)
    (w1, b1), (w2, b2), (w3, b3) = zip(final[0::2], final[1::2])
    total = 0.0
    for i, j, k, c in itertools.product(range(2), range(3), range(3), range(2)):
      total += w1[i, j] ** 2 * w2[j, k] ** 2 * w3[k, c] ** 2
    for j, k, c in itertools.product(range(3), range(3), range(2)):
      total += b1[j] ** 2 * w2[j, k] ** 2 * w3[k, c] ** 2
    for k, c in itertools.product(range(3), range(2)):
      total += b2[k] ** 2 * w3[k, c] ** 2
    total += np.sum(b3 ** 2)
    self.assertAllClose(norms.path_norm(net.model), total, rtol=1e-6)

  def test_path_norm_of_a_one_layer_network(self):
    """Depth 0 (logits = xW + b): path norm = ‖W‖²_F + ‖b‖² in closed form."""
    model = models.build_fc_network(5, 4, 0, 1, seed=0)
    w, b = _randomized(model, 7)
    self.assertAllClose(norms.path_norm(model), np.sum(w ** 2) + np.sum(b ** 2), rtol=1e-6)

  def test_cnn_norms_and_path_norm(self):
    """The small CNN: reshaped-kernel norms from the raw 4-D kernel, and the path norm from
    a NumPy 'same' convolution with squared weights, 2×2 max pooling and the dense head."""
    model = models.build_cnn((4, 4, 1), 3, depth=1, width=2, seed=0)
    initial = _randomized(model, 1)
    final = _randomized(model, 2)
    x = np.random.default_rng(0).uniform(size=(30, 16)).astype("float32")
    net = network_lib.TrainedNetwork(model, initial, x, np.arange(30) % 3, x, np.arange(30) % 3)
    kernel, bias, head_w, head_b, out_w, out_b = final
    matrix = kernel.transpose(3, 2, 0, 1).reshape(2, -1)  # another order of the same entries
    layers = net.weight_layers()
    self.assertEqual([l.kind for l in layers], ["conv", "dense", "dense"])
    self.assertAllClose(norms.spectral_norm(layers[0].matrix) ** 2,
                        np.linalg.svd(matrix, compute_uv=False)[0] ** 2)
    ones = np.pad(np.ones((4, 4, 1)), ((1, 1), (1, 1), (0, 0)))
    conv = np.zeros((4, 4, 2))
    for r, c in itertools.product(range(4), range(4)):
      conv[r, c] = np.einsum("hwi,hwio->o", ones[r:r + 3, c:c + 3], kernel ** 2) + bias ** 2
    pooled = conv.reshape(2, 2, 2, 2, 2).max(axis=(1, 3))
    head = pooled.reshape(-1) @ head_w ** 2 + head_b ** 2
    expected = np.sum(head @ out_w ** 2 + out_b ** 2)
    self.assertAllClose(norms.path_norm(model), expected, rtol=1e-6)


class MarginsTest(tf.test.TestCase):

  def test_margins_and_bartlett_against_numpy(self):
    net, final, initial = _fc_net(depth=1, width=3, n=200, nonlinearity="hard_sigmoid")
    _, logits = oracles.forward64(net.model, net.x_train, "hard_sigmoid")
    # Make the labels the predicted classes, so the margins are positive.
    net.y_train = logits.argmax(1)
    top2 = np.sort(logits, axis=1)
    gamma = np.sort(top2[:, -1] - top2[:, -2])[int(0.1 * (len(logits) - 1))]
    got = margins.compute(net, SMALL)
    self.assertAllClose(got["inverse_margin"], 1 / gamma ** 2, rtol=1e-5)
    kernels, kernels0 = final[0::2], initial[0::2]
    spec = [np.linalg.svd(k, compute_uv=False)[0] for k in kernels]
    fro2 = [np.sum(k ** 2) for k in kernels]
    dist2 = [np.sum((k - k0) ** 2) for k, k0 in zip(kernels, kernels0)]
    self.assertAllClose(got["log_spec_init_main"], math.log(
        np.prod(np.square(spec)) * sum(d / s ** 2 for d, s in zip(dist2, spec)) / gamma ** 2),
        rtol=1e-5)
    self.assertAllClose(got["log_prod_of_fro_over_margin"],
                        math.log(np.prod(fro2) / gamma ** 2), rtol=1e-5)
    # Bartlett et al.: ρ = 1/6 for hard sigmoid, the (2,1) norm over output units' rows.
    rho = [1 / 6, 1.0]
    two_one = [sum(np.linalg.norm((k - k0)[:, j]) for j in range(k.shape[1]))
               for k, k0 in zip(kernels, kernels0)]
    r_a = np.prod([r * s for r, s in zip(rho, spec)]) * sum(
        t ** (2 / 3) / s ** (2 / 3) for t, s in zip(two_one, spec)) ** 1.5
    expected = r_a * np.linalg.norm(net.x_train.astype(np.float64)) / (gamma * 200)
    self.assertAllClose(got["inverse_spectral_margin"], expected, rtol=1e-5)

  def test_margin_measures_are_nan_when_the_margin_is_not_positive(self):
    net, _, _ = _fc_net(n=50)
    _, logits = oracles.forward64(net.model, net.x_train, "relu")
    net.y_train = logits.argmin(1)  # every point misclassified
    got = margins.compute(net, SMALL)
    self.assertTrue(all(math.isnan(v) for v in got.values()), got)


def _linear_binary(n=400, inputs=3, seed=0):
  """A depth-0 two-class network on positive inputs, all labelled 1 and all correctly
  classified: the worst case in a box moves every point's logit difference by the same
  corner, so the sharpness scales have closed forms."""
  model = models.build_fc_network(inputs, 2, 0, 1, seed=0)
  rng = np.random.default_rng(seed)
  w = rng.normal(0, 1, (inputs, 2))
  w[:, 1] += 1.5
  b = np.array([0.0, 0.5])
  model.set_weights([w.astype("float32"), b.astype("float32")])
  x = rng.uniform(0.1, 1.0, (n, inputs)).astype("float32")
  y = np.ones(n, int)
  x_tilde = np.concatenate([x.astype(np.float64), np.ones((n, 1))], axis=1)
  weights = np.concatenate([w, b[None]], axis=0)  # (inputs + 1, 2), float32 values
  weights = weights.astype("float32").astype(np.float64)
  d = x_tilde @ (weights[:, 1] - weights[:, 0])
  assert (d > 0).all()
  net = network_lib.TrainedNetwork(model, model.get_weights(), x, y, x, y)
  return net, x_tilde, weights, d


class SharpnessTest(tf.test.TestCase):

  SETTINGS = battery.BatterySettings(search_iterations=25, sharpness_steps=8, mc_draws=40,
                                     tolerance=0.005)

  def test_worst_case_scale_of_a_linear_classifier(self):
    """|u_i| ≤ α: the worst corner lowers d(x) by 2α(‖x̃‖₁), so point x falls at
    α_x = d(x) / (2‖x̃‖₁) and α' is the 10th percentile of the α_x (within the tolerance)."""
    net, x_tilde, weights, d = _linear_binary()
    land = sharpness.Landscape(net.model, net.x_train, net.y_train)
    s = self.SETTINGS
    alpha = sharpness.bisect(sharpness.sharpness_drop(land, 1.0, s, magnitude=False), s)
    thresholds = np.sort(d / (2 * x_tilde.sum(1)))
    n = len(d)
    self.assertBetween(alpha, thresholds[int(0.095 * n) - 1], thresholds[int(0.105 * n)])
    eps = s.magnitude_eps
    mag = sharpness.bisect(sharpness.sharpness_drop(land, 1.0, s, magnitude=True), s)
    mag_thresholds = np.sort((d - 2 * eps * x_tilde.sum(1))
                             / (x_tilde @ np.abs(weights).sum(1)))
    self.assertBetween(mag, mag_thresholds[int(0.095 * n) - 1], mag_thresholds[int(0.105 * n)])
    land.restore()
    self.assertAllEqual(net.model.get_weights()[0], weights[:-1].astype("float32"))

  def test_pacbayes_scale_of_a_linear_classifier(self):
    """The Monte-Carlo drop recomputed in NumPy from the same draws z_k (N(0, 1) from the
    generator seeded (seed, k)): u = σ z_k, or z_k √(σ² w² + ε²) magnitude-aware, moves
    d(x) by (u₁ − u₀)·x̃; σ' must be where that drop is 0.1 ± the tolerance. And the
    expectation over draws has a closed form, mean_x Φ(d(x) / (σ √2 ‖x̃‖)) without the
    magnitude: at σ' it must be near 0.1 (40 draws: within 4 of their standard errors)."""
    net, x_tilde, weights, d = _linear_binary()
    land = sharpness.Landscape(net.model, net.x_train, net.y_train)
    s = self.SETTINGS
    eps = s.magnitude_eps
    inputs = x_tilde.shape[1] - 1
    w_flat = np.concatenate([weights[:-1].ravel(), weights[-1]])  # kernel, then bias

    def numpy_drop(sigma, magnitude):
      drops = []
      for k in range(s.mc_draws):
        z = np.random.default_rng([s.seed, k]).standard_normal(w_flat.size)
        u = z * (np.sqrt(sigma ** 2 * w_flat ** 2 + eps ** 2) if magnitude else sigma)
        u = np.concatenate([u[:2 * inputs].reshape(inputs, 2), u[None, 2 * inputs:]])
        drops.append(np.mean(d + x_tilde @ (u[:, 1] - u[:, 0]) <= 0))
      return float(np.mean(drops)), float(np.std(drops) / np.sqrt(len(drops)))

    found = {}
    for magnitude in (False, True):
      found[magnitude] = sharpness.bisect(sharpness.pacbayes_drop(land, 1.0, s, magnitude), s)
      drop, _ = numpy_drop(found[magnitude], magnitude)
      self.assertAllClose(drop, 0.1, atol=s.tolerance, msg=f"magnitude={magnitude}")
    sigma = found[False]
    exact = 1 - np.mean(stats.norm.cdf(d / (sigma * np.sqrt(2 * np.sum(x_tilde ** 2, 1)))))
    self.assertAllClose(exact, 0.1, atol=4 * numpy_drop(sigma, False)[1])

  def test_bounds_from_the_scales(self):
    w = np.array([1.0, -2.0, 0.5])
    w0 = np.array([0.5, -1.0, 0.0])
    found = dict(pacbayes_sigma=0.2, pacbayes_mag_sigma=0.4, sharpness_alpha=0.1,
                 sharpness_mag_alpha=0.05)
    got = sharpness.bounds(w, w0, 100, found, 1e-3)
    self.assertAllClose(got["pacbayes_init"], 1.5 / (4 * 0.04) + math.log(100 / 0.2) + 10)
    self.assertAllClose(got["pacbayes_orig"], 5.25 / (4 * 0.04) + math.log(100 / 0.2) + 10)
    terms = [math.log((1e-6 + 1.16 * 1.5 / 3) / (1e-6 + 0.16 * dw ** 2)) for dw in (0.5, 1.0, 0.5)]
    self.assertAllClose(got["pacbayes_mag_init"], sum(terms) / 4 + math.log(100 / 0.4) + 10)
    self.assertAllClose(got["sharpness_flatness"], 100.0)
    self.assertAllClose(got["pacbayes_mag_flatness"], 1 / 0.16)

  def test_search_is_reproducible_and_nan_when_the_target_is_out_of_reach(self):
    net, _, _ = _fc_net(n=60)
    s = SMALL
    self.assertEqual(sharpness.scales(net, s), sharpness.scales(net, s))
    self.assertTrue(math.isnan(sharpness.bisect(lambda scale: 0.0, s)))


class SensitivityTest(tf.test.TestCase):

  def test_jacobian_and_transitions_equal_the_evaluation(self):
    net, _, _ = _fc_net(n=60, inputs=6)
    got = sensitivity.compute(net, SMALL)
    g, logits = oracles.logit_jacobian64(net.model, net.x_test, "relu")
    self.assertAllClose(got["jacobian_norm"],
                        np.mean(oracles.spec_contraction_norms(g, logits)), rtol=1e-5)
    from conftest import tiny_dataset
    data = tiny_dataset(n_train=60, n_test=20, image_shape=(6, 1, 1))
    data.x_test = net.x_test
    settings = evaluation.EvaluationSettings(
        test_points=40, train_points=0, num_samples=96, bins=16, ellipses_per_kind=1,
        test_point_ellipses=3, ellipse_jacobian_samples=6)
    summary = evaluation.evaluate(net.model, data, settings)[3]
    self.assertAllClose(got["jacobian_norm"], summary["jacobian_test_mean"])
    self.assertEqual(got["transitions"], summary["test_point_transitions_mean"])


class BatteryTest(tf.test.TestCase):

  def test_every_registered_measure_is_computed(self):
    net, _, _ = _fc_net()
    record = battery.compute(net, SMALL)
    self.assertCountEqual(record["values"], measures.MEASURES)
    self.assertGreaterEqual(len(measures.MEASURES), 15)
    self.assertEqual(set(record["secs"]), set(measures.FAMILIES))
    self.assertAllClose(record["total_secs"], sum(record["secs"].values()))

  def test_bad_settings_are_refused_in_one_line(self):
    with self.assertRaisesRegex(ValueError, r"^mc_draws=0 is invalid; allowed: an integer"):
      battery.BatterySettings(mc_draws=0).validate()
    with self.assertRaisesRegex(ValueError, r"^target_drop=1.5 is invalid"):
      battery.BatterySettings(target_drop=1.5).validate()

  def test_run_directory_battery_is_cached_and_uses_the_initial_weights(self):
    from sensitivity_tf.train import train_config
    from sensitivity_tf.train import train_run
    out = self.get_temp_dir() + "/run"
    cfg = train_config.default_config()
    cfg.update(dict(dataset="mnist", data_dir=str(MNIST_NPZ), depth=1, width=8,
                    train_subset=100, max_steps=20, eval_every=10, seed=3))
    train_run.train(cfg, out, log=lambda m: None)
    net = network_lib.from_run_dir(out)
    fresh = models.build_fc_network(784, 10, 1, 8, seed=3)
    for a, b in zip(net.initial_weights, fresh.get_weights()):
      self.assertAllEqual(a, b)
    self.assertLen(net.y_train, 100)
    first = battery.for_run(out, SMALL)
    self.assertFalse(first["cached"])
    second = battery.for_run(out, SMALL)
    self.assertTrue(second["cached"])
    for k, v in first["values"].items():
      self.assertTrue(v == second["values"][k] or (math.isnan(v) and math.isnan(
          second["values"][k])), k)
    self.assertGreater(first["values"]["frobenius_distance"], 0)
    self.assertFalse(battery.for_run(out, battery.BatterySettings(
        **dict(SMALL.__dict__, seed=1)))["cached"])
