"""sensitivity_tf: sensitivity and generalization in neural networks (Novak et al., 2018).

`pip install .` (or `-e .`) installs the library, the experiment configs (the top-level
configs/ directory, installed as the package sensitivity_tf.configs) and four commands,
`sensitivity_tf-<name>` for each bin/<name>: sensitivity_tf-train,
sensitivity_tf-evaluate_sensitivity, sensitivity_tf-survey, sensitivity_tf-reproduce.
"""

import setuptools

setuptools.setup(
    name="sensitivity_tf",
    version="0.1.0",
    description=("Jacobian norms, linear-region transitions and generalization of "
                 "fully-connected networks: a reproduction of Novak et al., ICLR 2018."),
    packages=(setuptools.find_packages(include=["sensitivity_tf", "sensitivity_tf.*"])
              + ["sensitivity_tf.configs"]),
    package_dir={"sensitivity_tf.configs": "configs"},
    entry_points={"console_scripts": [
        f"sensitivity_tf-{name}=sensitivity_tf.commands.{name}:run"
        for name in ("train", "evaluate_sensitivity", "survey", "reproduce")]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<3",   # Keras 3 as tf.keras
        "keras>=3.7",              # keras.activations.hard_tanh
        "tensorflow-datasets>=4.9",
        "importlib_resources",   # tfds.load fails at once without it (TFDS 4.9.10)
        # survey/tuner.py uses keras_tuner.src internals (distribute, engine.trial), tested
        # here with 1.4.8 (tests/test_keras_tuner_internals.py); a new minor may move them.
        "keras-tuner>=1.4.7,<1.5",
        "tensorboard",           # keras-tuner imports it during every search
        "numpy",
        "pandas",
        "pyarrow",
        "absl-py",
        "ml-collections",        # Python configs with config_flags (configs/)
        "matplotlib",
        "pillow",                # decodes the CIFAR-10 JPEG copy
        "scipy",                 # statistics of the claims report
    ],
    extras_require={"test": ["pytest>=7", "pytest-timeout"]},
)
