"""On-the-fly data augmentation of flat input batches [ours, docs/method.md §3].

* 28x28 images (MNIST, Fashion-MNIST): a random translation by an integer number of pixels
  in [-2, 2] along each axis, independently per example;
* 32x32 images (CIFAR): a random translation in [-4, 4] and a horizontal flip with
  probability 1/2.

Other image sizes get the policy of their **height** [ours]: under 32 px high the first,
32 px or more the second (an 8x8 image is shifted by up to 2 px too). The policy is said when
training starts and recorded in the run's ``config.json`` (``derived.augmentation``), rule
included.

Pixels shifted in from outside are black (pixel value 0, before any standardization), so
the augmented values stay in the input range and every output pixel is a copy of an input
pixel or 0. Labels are untouched. Randomness is stateless: the augmentation of step ``s``
is a function of ``(seed, s)`` only, so a resumed run augments exactly as an uninterrupted
one.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class AugmentationPolicy:
  max_shift: int
  horizontal_flip: bool

  def describe(self) -> str:
    """What the policy does, and the rule that chose it (by image height)."""
    rule = (f"the policy for images {LARGE_HEIGHT} px high or more; under {LARGE_HEIGHT} px: "
            "+-2 px" if self.horizontal_flip else
            f"the policy for images under {LARGE_HEIGHT} px high; {LARGE_HEIGHT} px or more: "
            "+-4 px and horizontal flips")
    return (f"random translation of +-{self.max_shift} px"
            + (" and horizontal flips" if self.horizontal_flip else "") + f" ({rule})")


LARGE_HEIGHT = 32  # images this high or higher get the CIFAR policy


def policy_for(image_shape: Tuple[int, int, int]) -> AugmentationPolicy:
  """The docs/method.md §3 policy for an image size, chosen by its height: ±2 px under 32 px
  (28x28), ±4 px and flips from 32 px (32x32)."""
  if image_shape[0] >= LARGE_HEIGHT:
    return AugmentationPolicy(max_shift=4, horizontal_flip=True)
  return AugmentationPolicy(max_shift=2, horizontal_flip=False)


def augment(x, image_shape: Tuple[int, int, int], policy: AugmentationPolicy, seed,
            shift=None, scale=None):
  """Augments a flat batch ``x`` (B, H*W*C) with stateless randomness from ``seed`` (2 ints).

  ``shift``/``scale`` undo and redo a per-feature standardization around the image
  operations, so that translation fills with true black pixels.
  """
  h, w, c = image_shape
  batch = tf.shape(x)[0]
  if shift is not None:
    x = x * scale + shift
  images = tf.reshape(x, (batch, h, w, c))
  seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
  offsets = tf.random.stateless_uniform((batch, 2), seed=seeds[0], minval=-policy.max_shift,
                                        maxval=policy.max_shift + 1, dtype=tf.int32)
  offsets = tf.cast(offsets, tf.float32)
  ones, zeros = tf.ones((batch, 1)), tf.zeros((batch, 1))
  # Output pixel (col, row) reads input pixel (col - dx, row - dy).
  transforms = tf.concat([ones, zeros, -offsets[:, :1], zeros, ones, -offsets[:, 1:],
                          zeros, zeros], axis=1)
  images = tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=transforms, output_shape=tf.constant([h, w]),
      fill_value=tf.constant(0.0, images.dtype), interpolation="NEAREST", fill_mode="CONSTANT")
  if policy.horizontal_flip:
    flip = tf.random.stateless_uniform((batch, 1, 1, 1), seed=seeds[1]) < 0.5
    images = tf.where(flip, tf.reverse(images, axis=[2]), images)
  x = tf.reshape(images, (batch, h * w * c))
  if shift is not None:
    x = (x - shift) / scale
  return x
