"""sensitivity_tf: sensitivity and generalization of neural networks (Novak et al., ICLR 2018).

Library modules, one per concept: `data` (datasets), `nonlinearities`, `models`,
`training`, `run_dir` (what a training run writes), `jacobian` and `transitions` (the two
sensitivity metrics), `trajectories` (the ellipses they are measured along).
"""

__version__ = "0.1.0"
