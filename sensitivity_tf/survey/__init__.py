"""The survey: many networks trained and measured, driven by keras-tuner.

Modules: `space` (search spaces), `design` (trial lists and identities), `study` (study
configs and presets), `results` (the results table), `runner` (one trial), `tuner`
(keras-tuner oracle, tuner and chief), `execution` (one way to run a study: `run_study` with
an executor), `local_workers` (a loopback chief and N worker processes), `driver` (a whole
survey as bin/survey runs it).
"""
