"""The four commands, one module each, with its flags, ``main(argv)`` and ``run()``.

Each module's docstring is the command's usage (``--help`` prints it). ``bin/<name>`` and
the console script ``sensitivity_tf-<name>`` that ``pip install`` puts on the PATH both call
``sensitivity_tf.commands.<name>.run()``:

* `train`: one network, one run directory (``sensitivity_tf-train``);
* `evaluate_sensitivity`: Jacobian norms and transitions of trained runs
  (``sensitivity_tf-evaluate_sensitivity``);
* `survey`: many networks, a keras-tuner study (``sensitivity_tf-survey``);
* `reproduce`: the paper's figures and claims report (``sensitivity_tf-reproduce``).

Import one command module per process: each defines its absl flags at import.
"""
