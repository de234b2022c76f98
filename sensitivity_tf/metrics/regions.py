"""Linear regions on a 2-D slice of input space (the paper's regions figure, claim C5).

The slice is the plane through three points x1, x2, x3: x(u, v) = c + u·e1 + v·e2, with c the
circumcenter of the triangle and (e1, e2) an orthonormal basis of its plane, in units of the
input space. A square window of half-side ``extent`` × R (R the circumradius) is sampled on a
``resolution`` × ``resolution`` grid; each pixel gets the code of the **last** hidden layer
(docs/method.md §1.2) at its point, reduced to one integer per distinct code.

**Code changes per unit area** [ours]: a pixel is a boundary pixel when its code differs from
that of its right or lower neighbour; the density of a set of pixels is its share of boundary
pixels divided by the area of one pixel (input units²). C5 compares the density within
``radius`` × R of each anchor with the density over the disc of radius R around c.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

import keras
import numpy as np

from sensitivity_tf.networks import models


@dataclasses.dataclass
class Slice:
  center: np.ndarray        # (d,) circumcenter
  e1: np.ndarray            # (d,) orthonormal basis of the plane
  e2: np.ndarray
  radius: float             # circumradius R
  anchors_uv: np.ndarray    # (3, 2) anchor coordinates in the plane
  extent: float             # half-side of the window, in units of R
  resolution: int

  @classmethod
  def through(cls, x1, x2, x3, extent: float = 1.3, resolution: int = 256) -> "Slice":
    x1, x2, x3 = (np.asarray(v, np.float64) for v in (x1, x2, x3))
    e1 = x2 - x1
    e1 /= np.linalg.norm(e1)
    e2 = x3 - x1 - np.dot(x3 - x1, e1) * e1
    e2 /= np.linalg.norm(e2)
    pts = np.array([[0.0, 0.0], [np.dot(x2 - x1, e1), 0.0],
                    [np.dot(x3 - x1, e1), np.dot(x3 - x1, e2)]])
    # circumcenter of the triangle in plane coordinates
    (ax, ay), (bx, by), (cx, cy) = pts
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ux = ((ax ** 2 + ay ** 2) * (by - cy) + (bx ** 2 + by ** 2) * (cy - ay)
          + (cx ** 2 + cy ** 2) * (ay - by)) / d
    uy = ((ax ** 2 + ay ** 2) * (cx - bx) + (bx ** 2 + by ** 2) * (ax - cx)
          + (cx ** 2 + cy ** 2) * (bx - ax)) / d
    center_uv = np.array([ux, uy])
    radius = float(np.linalg.norm(pts[0] - center_uv))
    center = x1 + ux * e1 + uy * e2
    return cls(center, e1, e2, radius, pts - center_uv, extent, resolution)

  @property
  def coordinates(self) -> np.ndarray:
    """(resolution,) pixel-center coordinates along each axis, in input units."""
    half = self.extent * self.radius
    step = 2 * half / self.resolution
    return -half + step * (np.arange(self.resolution) + 0.5)

  @property
  def pixel_area(self) -> float:
    step = 2 * self.extent * self.radius / self.resolution
    return step * step

  def points(self) -> np.ndarray:
    """(resolution², d) float32 inputs, row-major (v rows, u columns)."""
    c = self.coordinates
    u, v = np.meshgrid(c, c)
    return (self.center + u.reshape(-1, 1) * self.e1 + v.reshape(-1, 1) * self.e2).astype(
        np.float32)


def last_layer_codes(model: keras.Model, x: np.ndarray, batch: int = 8192) -> np.ndarray:
  """One int64 per point identifying the last hidden layer's code (equal codes, equal ids)."""
  nl = models.nonlinearity_of(model)
  pre = models.pre_activation_model(model)
  ids = []
  for start in range(0, len(x), batch):
    z = pre(x[start:start + batch], training=False)[-2]
    codes = nl.code(z).numpy()
    ids.append(codes)
  codes = np.concatenate(ids)
  _, inverse = np.unique(codes, axis=0, return_inverse=True)
  return inverse.reshape(-1).astype(np.int64)


def code_image(model: keras.Model, s: Slice) -> np.ndarray:
  """(resolution, resolution) region ids of the last hidden layer on the slice."""
  if models.depth(model) == 0:
    raise ValueError("a network of depth 0 has no hidden layer and no regions")
  return last_layer_codes(model, s.points()).reshape(s.resolution, s.resolution)


def boundary_mask(image: np.ndarray) -> np.ndarray:
  """Pixels whose code differs from their right or lower neighbour."""
  mask = np.zeros(image.shape, bool)
  mask[:, :-1] |= image[:, :-1] != image[:, 1:]
  mask[:-1, :] |= image[:-1, :] != image[1:, :]
  return mask


def density_ratio(image: np.ndarray, s: Slice, radius: float = 0.1) -> Tuple[np.ndarray, float]:
  """(per-anchor density within radius·R of the anchor, density over the disc of radius R)
  of code changes, in boundary pixels per unit area."""
  mask = boundary_mask(image).astype(float)
  c = s.coordinates
  u, v = np.meshgrid(c, c)
  disc = u ** 2 + v ** 2 <= s.radius ** 2
  average = mask[disc].mean() / s.pixel_area
  near = []
  for au, av in s.anchors_uv:
    within = (u - au) ** 2 + (v - av) ** 2 <= (radius * s.radius) ** 2
    near.append(mask[within].mean() / s.pixel_area)
  return np.array(near), float(average)
