"""The paper's experiments, registered by name (docs/method.md §5). Each module has ``NAME``,
``CLAIMS`` and ``run(cfg, workspace) -> (claim results, extra report entries)``: it runs
what is missing (surveys, networks, evaluations, all resumable and cached), then analyses
the saved tables and draws its figure."""

from sensitivity_tf.reproduce.experiments import (capacity, correlation, factors, points,
                                                  regions, trajectories)

EXPERIMENTS = {m.NAME: m for m in (capacity, trajectories, regions, correlation, factors,
                                   points)}
