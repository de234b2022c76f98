"""The experiment configs: ``get_config()`` returning an ``ml_collections.ConfigDict``.

One file per config: ``train.py`` (bin/train), ``survey_*.py`` (bin/survey studies),
``reproduce_*.py`` (bin/reproduce experiments). Each docstring gives its command, runtime
and result. Installed with the package as ``sensitivity_tf.configs``; a bare name
(``--config=survey_default``) finds them from any directory
(``sensitivity_tf.commands.config_files``).
"""
