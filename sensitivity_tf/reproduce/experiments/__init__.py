"""The paper's experiments, registered by name (docs/method.md §5). Each module has ``NAME``,
``CLAIMS`` and ``run(cfg, workspace) -> (claim results, extra report entries)``: it runs
what is missing (surveys, networks, evaluations, all resumable and cached), then analyses
the saved tables and draws its figure; an optional ``validate(cfg)`` checks what the generic
`reproduction.validate_config` cannot. ``measures`` (beyond the paper) ranks ‖J‖ and
transitions among other generalization measures on the same surveys. ``fidelity`` (issue 20)
judges no claim: it tests why our Figures 2 and 3 differ from the paper's."""

from sensitivity_tf.reproduce.experiments import capacity
from sensitivity_tf.reproduce.experiments import correlation
from sensitivity_tf.reproduce.experiments import factors
from sensitivity_tf.reproduce.experiments import fidelity
from sensitivity_tf.reproduce.experiments import measure_ranking
from sensitivity_tf.reproduce.experiments import points
from sensitivity_tf.reproduce.experiments import region_maps
from sensitivity_tf.reproduce.experiments import trajectory_profiles

EXPERIMENTS = {m.NAME: m for m in (capacity, trajectory_profiles, region_maps, correlation,
                                   factors, points, measure_ranking, fidelity)}
