"""Rank ‖J‖ and transitions among the generalization measures of Jiang et al. (2020) and
Dziugaite et al. (2020), on the surveys of the correlation and factors experiments
[beyond the paper; docs/measures.md].

Command:   bin/reproduce --experiment=measures --preset=small [--data_dir=DATA_DIR]
           (--docs_dir=docs/figures publishes measures/ranking.csv, measures/networks.csv
           and measures.png)
Computes:  the 27-measure battery (sensitivity_tf/measures/) of every network of the random
           survey of each dataset (its networks at 100% training accuracy), of the factorial
           grid (first dataset, all networks) and of the fair pairs of the factor studies
           named in `factors`; then Kendall τ, granulated Ψ, the conditional-MI score and
           the robust sign error of every measure with the gap, with 95% bootstrap
           intervals. The surveys are the correlation and factors experiments' own (same
           studies): run after those, it trains nothing.
Runtime:   tiny, measured on this project's 2-core machine: the end-to-end test (training
           its surveys included) in tests/test_reproduce_measures.py. Small and paper: not
           run here; the battery's cost per network is recorded beside the network's
           training time in measures/networks.csv.
Quick:     bin/reproduce --experiment=measures --preset=tiny
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  preset = common.preset_name(preset)
  # The same studies as correlation's (survey, grid) and factors' (pairs); `factors` names
  # the factor studies whose fair pairs are scored (all four; tiny: random labels only).
  cfg = common.survey_experiment(
      "measures", preset, with_cifar=True, grid=common.grid_study(preset),
      pairs={f: common.pairs_study(f, preset) for f in common.design_lib.FACTORS},
      factors="random_labels" if preset == "tiny" else ",".join(common.design_lib.FACTORS),
      pair_growth=common.SIZES[preset]["pair_growth"], battery=common.BATTERY[preset])
  cfg.grid_datasets = cfg.datasets[:1]  # the grid runs on the first dataset only
  return cfg
