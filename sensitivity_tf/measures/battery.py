"""The whole battery for one trained network: every measure of
`sensitivity_tf.measures.MEASURES`, timed.

`BatterySettings` holds every number the measures depend on (each documented in its family's
module); `compute` runs the four families on a `network.TrainedNetwork`; `for_run` does it
for a finished run directory and stores the result in ``<run>/measures/battery.json``
(atomically), reused while the settings and the model file (SHA-256) are unchanged, so a
survey's battery resumes where it was stopped and is never computed twice.

The record holds ``values`` (measure -> float; NaN is written as null), ``scales`` (the
searched σ' and α'), ``secs`` (seconds per family, wall clock) and ``total_secs``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import pathlib
import time
from typing import Dict, Optional

from sensitivity_tf.measures import MEASURES
from sensitivity_tf.measures import margins
from sensitivity_tf.measures import network as network_lib
from sensitivity_tf.measures import norms
from sensitivity_tf.measures import sensitivity
from sensitivity_tf.measures import sharpness
from sensitivity_tf.store import atomic
from sensitivity_tf.store import run_dir as run_dir_lib
from sensitivity_tf.train import train_config

FAMILY_MODULES = {"norm": norms, "margin": margins, "sharpness": sharpness,
                  "sensitivity": sensitivity}
SUBDIR = "measures"
RECORD = "battery.json"


@dataclasses.dataclass(frozen=True)
class BatterySettings:
  """Every number the battery depends on (defaults: Jiang et al.'s where they give one)."""

  margin_percentile: float = 10.0   # γ: this percentile of the training margins
  target_drop: float = 0.1          # accuracy drop at which σ', α' are read
  tolerance: float = 0.01           # |drop − target| that ends a search early
  mc_draws: int = 10                # Monte-Carlo draws per PAC-Bayes scale
  search_iterations: int = 6        # bisection steps per search (log scale; ours)
  sharpness_steps: int = 5          # projected gradient-ascent steps per sharpness scale
  magnitude_eps: float = 1e-3       # ε of the magnitude-aware perturbations
  scale_start: float = 2.0          # first upper end of the bisection bracket
  train_points: int = 0             # training examples for the searches (0 = all)
  test_points: int = 1000           # test points for ‖J‖ (0 = all)
  test_point_ellipses: int = 20     # loops through test points for transitions
  num_samples: int = 768            # k per loop
  bins: int = 32
  seed: int = 0

  def validate(self) -> "BatterySettings":
    def check(ok, name, allowed):
      if not ok:
        raise train_config.ConfigError(
            f"{name}={getattr(self, name)!r} is invalid; allowed: {allowed}")
    check(0 < self.margin_percentile < 100, "margin_percentile", "a number in (0, 100)")
    check(0 < self.target_drop < 1, "target_drop", "a number in (0, 1)")
    check(0 <= self.tolerance < self.target_drop, "tolerance", "0 <= tolerance < target_drop")
    for name in ("mc_draws", "search_iterations", "sharpness_steps", "test_point_ellipses"):
      check(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name,
            "an integer >= 1")
    for name in ("train_points", "test_points", "seed"):
      check(isinstance(getattr(self, name), int) and getattr(self, name) >= 0, name,
            "an integer >= 0")
    check(self.magnitude_eps > 0, "magnitude_eps", "a number > 0")
    check(self.scale_start > 0, "scale_start", "a number > 0")
    from sensitivity_tf.metrics import evaluation
    evaluation.check_sampling(self.num_samples, self.bins)
    return self

  @property
  def settings_id(self) -> str:
    blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def compute(net: network_lib.TrainedNetwork, settings: BatterySettings) -> Dict:
  """The battery's record for ``net`` (module docstring)."""
  settings.validate()
  values, secs, found = {}, {}, {}
  for family, module in FAMILY_MODULES.items():
    start = time.time()
    out = module.compute(net, settings)
    secs[family] = time.time() - start
    found.update({k[len("scale_"):]: v for k, v in out.items() if k.startswith("scale_")})
    values.update({k: v for k, v in out.items() if not k.startswith("scale_")})
  missing = set(MEASURES) - set(values)
  assert not missing, f"families left out {sorted(missing)}"
  return dict(values={k: float(values[k]) for k in MEASURES}, scales=found,
              secs=secs, total_secs=sum(secs.values()), settings_id=settings.settings_id,
              settings=dataclasses.asdict(settings))


def for_run(path, settings: BatterySettings, data_dir: Optional[str] = None,
            force: bool = False) -> Dict:
  """The battery of the finished run directory ``path``, cached (module docstring);
  ``cached`` says whether it was read back. Non-finite values come back as NaN."""
  run = run_dir_lib.RunDirectory(path).check_finished()
  record_path = pathlib.Path(run.path, SUBDIR, RECORD)
  sha = run_dir_lib.file_sha256(run.file(run_dir_lib.MODEL))
  if not force and record_path.is_file():
    try:
      record = atomic.read_json(record_path)
    except ValueError:
      record = {}
    if record.get("settings_id") == settings.settings_id and record.get("model_sha256") == sha:
      record["values"] = {k: math.nan if v is None else v for k, v in record["values"].items()}
      return dict(record, cached=True)
  record = compute(network_lib.from_run_dir(run.path, data_dir), settings)
  record["model_sha256"] = sha
  record_path.parent.mkdir(exist_ok=True)
  atomic.write_json(record_path, record)
  return dict(record, cached=False)
