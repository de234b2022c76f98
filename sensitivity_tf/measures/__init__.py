"""Generalization measures of trained networks, beside ‖J‖ and transitions (docs/measures.md).

Every measure of the battery, by name (`MEASURES`): its family (the module that computes
it), a one-line formula and its source. The formulas in full, with every choice, are in the
family modules' docstrings and docs/method.md §8.

Each measure is oriented as its source proposes it: a larger value predicts a larger
generalization gap.
"""

from __future__ import annotations

import dataclasses
from typing import Dict

JIANG = "Jiang et al. 2020"  # "#n": their equation (n)


@dataclasses.dataclass(frozen=True)
class Measure:
  name: str
  family: str     # norm, margin, sharpness, sensitivity
  formula: str
  source: str


def _m(name, family, formula, source):
  return Measure(name, family, formula, source)


MEASURES: Dict[str, Measure] = {m.name: m for m in (
    _m("num_weights", "norm", "ω, trainable parameters", f"{JIANG} #20"),
    _m("param_norm", "norm", "Σ‖W_i‖²_F", f"{JIANG} #42"),
    _m("frobenius_distance", "norm", "Σ‖W_i − W_i⁰‖²_F", f"{JIANG} #40"),
    _m("spectral_distance", "norm", "Σ‖W_i − W_i⁰‖²₂", f"{JIANG} #41"),
    _m("log_prod_of_fro", "norm", "Σ log‖W_i‖²_F", f"{JIANG} #37"),
    _m("log_sum_of_fro", "norm", "log d + (1/d) Σ log‖W_i‖²_F", f"{JIANG} #39"),
    _m("log_prod_of_spec", "norm", "Σ log‖W_i‖²₂", f"{JIANG} #32"),
    _m("log_sum_of_spec", "norm", "log d + (1/d) Σ log‖W_i‖²₂", f"{JIANG} #35"),
    _m("fro_over_spec", "norm", "Σ‖W_i‖²_F/‖W_i‖²₂", f"{JIANG} #33"),
    _m("path_norm", "norm", "Σ_k f_{w²}(1)[k]", f"{JIANG} #44; Neyshabur et al. 2015"),
    _m("inverse_margin", "margin", "1/γ², γ the 10th-percentile margin", f"{JIANG} #22"),
    _m("log_prod_of_spec_over_margin", "margin", "log(∏‖W_i‖²₂/γ²)", f"{JIANG} #31"),
    _m("log_spec_init_main", "margin", "log(∏‖W_i‖²₂ Σ‖W_i − W_i⁰‖²_F/‖W_i‖²₂ / γ²)",
       f"{JIANG} #29; Neyshabur et al. 2018"),
    _m("log_spec_orig_main", "margin", "log(∏‖W_i‖²₂ Σ‖W_i‖²_F/‖W_i‖²₂ / γ²)", f"{JIANG} #30"),
    _m("log_prod_of_fro_over_margin", "margin", "log(∏‖W_i‖²_F/γ²)", f"{JIANG} #36"),
    _m("path_norm_over_margin", "margin", "path_norm/γ²", f"{JIANG} #43"),
    _m("inverse_spectral_margin", "margin", "R_A ‖X‖_F/(γ m), R_A Bartlett's spectral "
       "complexity", "Bartlett et al. 2017"),
    _m("pacbayes_flatness", "sharpness", "1/σ'², u ~ N(0, σ'²)", f"{JIANG} #53"),
    _m("pacbayes_init", "sharpness", "‖w − w⁰‖²/(4σ'²) + log(m/σ') + 10", f"{JIANG} #48"),
    _m("pacbayes_orig", "sharpness", "‖w‖²/(4σ'²) + log(m/σ') + 10", f"{JIANG} #49"),
    _m("pacbayes_mag_flatness", "sharpness", "1/σ'², u_i ~ N(0, σ'²w_i² + ε²)", f"{JIANG} #61"),
    _m("pacbayes_mag_init", "sharpness", "¼Σ log((ε² + (σ'²+1)‖w − w⁰‖²/ω)/(ε² + σ'²(w_i − "
       "w_i⁰)²)) + log(m/σ') + 10", f"{JIANG} #56"),
    _m("pacbayes_mag_orig", "sharpness", "as pacbayes_mag_init with ‖w‖² in the numerator",
       f"{JIANG} #57"),
    _m("sharpness_flatness", "sharpness", "1/α'², worst case in |u_i| ≤ α'", f"{JIANG} App. C"),
    _m("sharpness_mag_flatness", "sharpness", "1/α'², worst case in |u_i| ≤ α'|w_i| + ε",
       f"{JIANG} App. C"),
    _m("jacobian_norm", "sensitivity", "mean over test points of ‖∂softmax/∂x‖_F",
       "Novak et al. 2018"),
    _m("transitions", "sensitivity", "mean transitions around ellipses through test points",
       "Novak et al. 2018"),
)}

FAMILIES = ("norm", "margin", "sharpness", "sensitivity")


def names(family: str = None):
  return [m.name for m in MEASURES.values() if family in (None, m.family)]
