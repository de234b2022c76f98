"""What a generalization measure reads: one trained network, its initial weights and its data.

`TrainedNetwork` holds the final Keras model, the weights it had at initialisation (in the
order of ``model.get_weights()``), the training set it was trained on (the labels actually
trained on: random ones for a random-label network) and the test set. `from_run_dir` rebuilds
all of it from a finished run directory of ``bin/train`` (``config.json``,
``initial.weights.h5``, ``model.keras``), with the data rebuilt from the recorded
configuration and checked against the recorded fingerprint; nothing is retrained.

`weight_layers` lists the layers whose weights the norm and margin measures read, as
matrices W_i (rows: output units), the convention of Jiang et al. (2020): a Dense kernel
(in, out) gives W = kernelᵀ; a convolution kernel (kh, kw, c_in, c_out) is reshaped to
(c_out, kh·kw·c_in) **[as Jiang et al. and Dziugaite et al.: the reshaped kernel, not the
convolution operator, whose spectral norm differs]**. Biases are not part of W_i (they are
of the parameter vector w used by the sharpness measures and #weights).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import List, Optional

import keras
import numpy as np

from sensitivity_tf import data as data_lib
from sensitivity_tf.networks import nonlinearities
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config
from sensitivity_tf.train import train_run


@dataclasses.dataclass
class WeightLayer:
  """One layer with a weight matrix: final W, initial W⁰ (both float64, rows = outputs) and
  the Lipschitz constant ρ of the nonlinearity that follows it (1 for the logit layer)."""

  name: str
  kind: str                 # "dense" or "conv"
  matrix: np.ndarray
  initial: np.ndarray
  lipschitz: float


@dataclasses.dataclass
class TrainedNetwork:
  """A trained classifier with its initial weights and data (module docstring)."""

  model: keras.Model
  initial_weights: List[np.ndarray]   # as model.get_weights() at initialisation
  x_train: np.ndarray                 # as the model receives them (flat, scaled)
  y_train: np.ndarray                 # the labels trained on
  x_test: np.ndarray
  y_test: np.ndarray
  name: str = ""
  cache: dict = dataclasses.field(default_factory=dict)  # what several families share

  @property
  def num_train(self) -> int:
    return len(self.y_train)

  def parameter_vectors(self):
    """(w, w⁰): every trainable parameter (kernels and biases), flattened, float64."""
    final = np.concatenate([np.ravel(v.numpy()) for v in self.model.trainable_variables])
    by_id = {id(v): i for i, v in enumerate(self.model.weights)}
    initial = np.concatenate([np.ravel(self.initial_weights[by_id[id(v)]])
                              for v in self.model.trainable_variables])
    return final.astype(np.float64), initial.astype(np.float64)

  def weight_layers(self) -> List[WeightLayer]:
    """The Dense and Conv2D layers, in order (module docstring)."""
    if "weight_layers" not in self.cache:
      self.cache["weight_layers"] = self._weight_layers()
    return self.cache["weight_layers"]

  def _weight_layers(self) -> List[WeightLayer]:
    index = {id(v): i for i, v in enumerate(self.model.weights)}
    out = []
    for layer in self.model.layers:
      if isinstance(layer, keras.layers.Dense):
        kind, to_matrix = "dense", lambda k: k.T
      elif isinstance(layer, keras.layers.Conv2D):
        kind, to_matrix = "conv", lambda k: k.reshape(-1, k.shape[-1]).T
      else:
        continue
      kernel = layer.kernel.numpy().astype(np.float64)
      initial = self.initial_weights[index[id(layer.kernel)]].astype(np.float64)
      out.append(WeightLayer(layer.name, kind, to_matrix(kernel), to_matrix(initial),
                             _lipschitz_after(self.model, layer)))
    return out


def _lipschitz(nl: Optional[nonlinearities.Nonlinearity]) -> float:
  if nl is None or nl.slopes is None:
    return 1.0  # linear, or tanh (slope at most 1)
  return float(max(abs(s) for s in nl.slopes))


def _lipschitz_after(model: keras.Model, layer) -> float:
  """ρ of the nonlinearity fused into ``layer`` or in the ``Activation`` layer right after
  it (1 when there is none, as for the logit layer)."""
  fused = nonlinearities.from_keras_activation(getattr(layer, "activation", None))
  if fused is not None:
    return _lipschitz(fused)
  layers = model.layers
  position = layers.index(layer)
  if position + 1 < len(layers) and isinstance(layers[position + 1], keras.layers.Activation):
    return _lipschitz(nonlinearities.from_layer(layers[position + 1]))
  return 1.0


@functools.lru_cache(maxsize=4)
def _dataset(options_json: str) -> data_lib.Dataset:
  """The data of a run, memoised: every network of a survey shares its dataset."""
  return data_lib.load(**json.loads(options_json))


def from_run_dir(path, data_dir: Optional[str] = None, name: str = "") -> TrainedNetwork:
  """The finished run directory ``path`` as a `TrainedNetwork`; RunDirError (one line) for
  a directory that is not a finished run or whose data differs from what it trained on."""
  run = run_dir_lib.RunDirectory(path).check_finished()
  initial_path = run.file(run_dir_lib.INITIAL_WEIGHTS)
  if not initial_path.is_file():
    raise run_dir_lib.RunDirError(f"{initial_path}: missing; the measures that compare with "
                                  "the initial weights need it (retrain with --overwrite)")
  cfg = train_config.default_config()
  cfg.update(run.config()["config"])
  if data_dir:
    cfg.data_dir = data_dir
  dataset = _dataset(json.dumps(train_config.data_options(cfg), sort_keys=True))
  run.check_same_data(dataset)
  model = run.load_model()
  twin = train_run.build_model(cfg, dataset)
  try:
    twin.load_weights(initial_path)
  except Exception as e:  # noqa: BLE001 (h5py and Keras raise many kinds)
    raise run_dir_lib.RunDirError(f"{initial_path}: damaged or not this network's weights "
                                  f"({type(e).__name__})") from None
  return TrainedNetwork(model, [np.asarray(w) for w in twin.get_weights()], dataset.x_train,
                        dataset.y_train, dataset.x_test, dataset.y_test,
                        name or str(run.path))
