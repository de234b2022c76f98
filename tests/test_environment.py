"""Device set-up: GPU memory growth is set before TensorFlow's first op, on every GPU."""

import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import REPO

# Pretends two GPUs exist, records each set_memory_growth call and whether TensorFlow's
# eager context (created by the first op) existed at that moment, then imports cli as
# every command does.
PROBE = """
import tensorflow as tf
from tensorflow.python.eager import context
calls = []
real = tf.config.list_physical_devices
tf.config.list_physical_devices = lambda kind=None: (["gpu0", "gpu1"] if kind == "GPU"
                                                     else real(kind))
tf.config.experimental.set_memory_growth = lambda device, on: calls.append(
    (device, on, context.context()._context_handle is not None))
tf.config.list_logical_devices = lambda kind=None: []  # no real GPU behind the fakes
from sensitivity_tf.commands import cli
print(calls)
"""


class DevicesTest(tf.test.TestCase):

  @pytest.mark.slow
  def test_memory_growth_on_every_gpu_before_the_first_op(self):
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    self.assertEqual(out.returncode, 0, out.stderr[-2000:])
    self.assertEqual(out.stdout.strip().splitlines()[-1],
                     "[('gpu0', True, False), ('gpu1', True, False)]")


if __name__ == "__main__":
  tf.test.main()
