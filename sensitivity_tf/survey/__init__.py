"""The survey: many networks trained and measured, driven by keras-tuner.

Modules: `space` (search spaces), `design` (trial lists and identities), `study` (study
configs and presets), `results` (the results table), `runner` (one trial), `tuner`
(keras-tuner oracle, tuner and chief), `driver` (a whole survey).
"""
