"""Rank ‖J‖ and transitions among the generalization measures of Jiang et al. (2020) and
Dziugaite et al. (2020), on the surveys of the correlation and factors experiments
[beyond the paper; docs/measures.md].

Command:   bin/reproduce --experiment=measures --preset=small [--data_dir=DATA_DIR]
           (--docs_dir=docs/figures publishes measures/ranking.csv, measures/networks.csv
           and measures.png)
Result:    measures/ranking.csv, measures/networks.csv and figures/measures.png, from
           the 27-measure battery (sensitivity_tf/measures/) of every network of the random
           survey of each dataset (its networks at 100% training accuracy), of the factorial
           grid (first dataset, all networks) and of the fair pairs of the factor studies
           named in `factors`; then Kendall τ, granulated Ψ, the conditional-MI score and
           the robust sign error of every measure with the gap, with 95% bootstrap
           intervals. The surveys are the correlation and factors experiments' own (same
           studies): run after those, it trains nothing. Small, 2026-12-04: ‖J‖ ranks first
           by Kendall τ on all three random surveys and second by Ψ on the Fashion-MNIST grid
           (the table: docs/measures.md).
Runtime:   tiny: 7.4 min end to end, the training of its surveys included (12 min with
           other jobs on the machine). Battery per network, benchmarks/battery_cost.py on
           this 2-core machine under load (2026-12-04), small settings: 20.6 s for the small
           space's largest network (4x512, batch 32; its training 34.1 s), 2.3 s for a 1x64
           (training 3.5 s); at tiny about 1-3 s against 1-1.6 s of training (fixed costs).
           The paper preset was not run here; measures/networks.csv records both times for
           every network. Small, 2026-12-04 (--config.factors=, after the random surveys):
           6.1 min for the MNIST survey's battery plus the re-analysis of the others; the
           battery's cost against training per population is in docs/measures.md.
Quick:     bin/reproduce --experiment=measures --preset=tiny
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py

# The measure battery of the measures experiment [beyond the paper] (sensitivity_tf/measures/
# battery.py documents every field). ‖J‖ and transitions use the points and k of the surveys'
# own evaluation (common.EVALUATION), so they equal the survey tables' values; the perturbation
# searches use Jiang et al.'s 10 Monte-Carlo draws and target drop 0.1 at small and paper,
# fewer draws and steps at tiny (tests); at paper they run on a 10,000-example subset.
BATTERY = {
    "tiny": dict(test_points=200, test_point_ellipses=4, num_samples=96, bins=16, mc_draws=3,
                 search_iterations=8, sharpness_steps=3),
    "small": dict(test_points=1000, test_point_ellipses=20, num_samples=768, bins=32),
    "paper": dict(test_points=0, test_point_ellipses=100, num_samples=3072, bins=64,
                  train_points=10000),
}


def get_config(preset="small"):
  preset = common.preset_name(preset)
  # The same studies as correlation's (survey, grid) and factors' (pairs); `factors` names
  # the factor studies whose fair pairs are scored (all four; tiny: random labels only;
  # --config.factors= (empty) scores the random surveys and the grid alone).
  cfg = common.survey_experiment(
      "measures", preset, with_cifar=True, grid=common.grid_study(preset),
      pairs={f: common.pairs_study(f, preset) for f in common.design_lib.FACTORS},
      factors="random_labels" if preset == "tiny" else ",".join(common.design_lib.FACTORS),
      pair_growth=common.SIZES[preset]["pair_growth"], battery=BATTERY[preset])
  cfg.grid_datasets = cfg.datasets[:1]  # the grid runs on the first dataset only
  # The battery reads every network's saved weights, so its studies keep whole run
  # directories at every preset (the paper preset's surveys keep only tables elsewhere; `keep`
  # is not part of a study's identity, so networks the correlation experiment trained there
  # have no weights: the battery refuses each such run with a one-line error).
  for study in [cfg.survey, cfg.grid, *cfg.pairs.values()]:
    study.keep = "all"
  return cfg
