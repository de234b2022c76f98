"""Reproduce the paper's correlation experiment (docs/method.md §5).

Command:   bin/reproduce --experiment=correlation --preset=small [--data_dir=DATA_DIR]
Trains:    capacity's `default` survey per dataset (with CIFAR-10 at the small preset) and
           the factorial `grid` study on the first dataset, each network a budget of 3,000 steps.
Runtime:   small, measured on this project's 2-core machine (2026-11-30): 4.8 min for
           Fashion-MNIST and MNIST on top of capacity's surveys (which it reuses), all of it
           the Fashion-MNIST factorial grid of 24 networks; CIFAR-10's own survey
           (--dataset=cifar10) 50.3 min: it grew to its cap of 120 networks, 30 at 100%.
Result:    figures/correlation.png|pdf and the Kendall τ / granulated Ψ tables; small preset:
           C6 (‖J‖ correlates with the gap) holds on Fashion-MNIST (Spearman 0.66 [0.34, 0.89];
              true-label networks alone 0.50 [0.14, 0.81], but 27 networks, fewer than
              the 30 a verdict needs: not enough data), MNIST (0.58 [0.32, 0.79]; true
              labels 0.42 [0.09, 0.68]) and CIFAR-10 (0.57 [0.29, 0.75]; true labels alone
              0.54 [0.22, 0.76] on 28 networks: not enough data); so on every dataset run
              (CIFAR-100 has no offline copy);
           C7 (transitions correlate with the gap, less consistently than ‖J‖) does not hold:
              no transitions interval lies above 0 (Spearman per test point -0.51 [-0.72,
              -0.22], -0.10 [-0.45, 0.25] and -0.68 [-0.84, -0.43] on CIFAR-10; per hidden
              unit 0.06, -0.27, -0.51); partial ρ with the gap given #weights: ‖J‖ 0.51,
              0.59, 0.58; transitions -0.02, -0.06, -0.47.
           Ψ on the grid (Fashion-MNIST): Jacobian norm 0.562, weight norm 0.354, number of
           weights 0.188, transitions per test point -0.104, per hidden unit -0.354.
           Old protocol (2026-11-27, old C7 rule): C6 held on Fashion-MNIST and MNIST, not on
              CIFAR-10 (0.33 [-0.02, 0.64]); C7 "held" with negative transition
              correlations; Ψ(‖J‖) 0.375.
Quick:     bin/reproduce --experiment=correlation --preset=tiny   (under a minute; for tests)
"""

from sensitivity_tf.commands import config_files

common = config_files.common()  # presets, training protocol, builders: configs/_common.py


def get_config(preset="small"):
  return common.experiment("correlation", preset)
