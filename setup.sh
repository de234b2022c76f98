#!/usr/bin/env bash
# Sets up sensitivity_tf on a fresh machine: a virtual environment in .venv with the
# package (editable) and its test tools, and the offline Fashion-MNIST copy from Debian
# where apt is available. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# Fashion-MNIST's original IDX files from Debian (MIT licence, (c) Zalando SE). Without
# them, pass --data_dir or rely on TFDS (online machines only).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
  else
    echo "note: not root, so Debian's dataset-fashion-mnist was not installed;" \
         "run 'sudo apt-get install dataset-fashion-mnist', or pass --data_dir, or use TFDS online." >&2
  fi
fi
echo "setup done: $(.venv/bin/python -c 'import tensorflow as tf, keras; print("tensorflow", tf.__version__, "keras", keras.__version__)' 2>/dev/null)"
