"""sensitivity_tf: sensitivity and generalization in neural networks (Novak et al., 2018)."""

import setuptools

setuptools.setup(
    name="sensitivity_tf",
    version="0.1.0",
    description=("Jacobian norms, linear-region transitions and generalization of "
                 "fully-connected networks: a reproduction of Novak et al., ICLR 2018."),
    packages=setuptools.find_packages(include=["sensitivity_tf", "sensitivity_tf.*"]),
    scripts=["bin/train"],
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<3",   # Keras 3 as tf.keras
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        "importlib_resources",   # tfds.load fails at once without it (TFDS 4.9.10)
        "keras-tuner>=1.4.7",
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
