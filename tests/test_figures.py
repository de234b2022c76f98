"""What every figure shares (sensitivity_tf/reproduce/figures.py): titles stay inside the figure
whatever the number of panels (a reproduction restricted to one dataset draws one column), and a
figure legend sits in a band of its own, clear of the title, the panels and the caption."""

import math
from unittest import mock

from absl.testing import parameterized
import numpy as np
import pandas as pd
import tensorflow as tf

from sensitivity_tf.reproduce import figures


class TitleTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters((1, 3.8), (1, 3.2), (2, 3.8), (4, 3.2))
  def test_title_and_panel_titles_fit_in_the_figure(self, cols, width):
    fig, axes = figures.subplots(3, cols, width=width, height=3.0)
    figures.title(fig, "correlation", "fashion_mnist", "31 networks", "small")
    for ax in axes[0]:
      ax.set_title("fashion_mnist: 31 of 120 networks at 100% train acc.", fontsize=9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for text in [fig._suptitle] + [ax.title for ax in axes[0]]:
      extent = text.get_window_extent(renderer)
      self.assertGreaterEqual(extent.x0, box.x0 - 1, text.get_text())
      self.assertLessEqual(extent.x1, box.x1 + 1, text.get_text())
    self.assertGreaterEqual(fig.get_figwidth(), figures.MIN_WIDTH)


class LegendTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters((3, 1), (3, 2), (3, 4), (1, 1), (1, 4))
  def test_figure_legend_overlaps_no_title_panel_or_caption(self, rows, cols):
    fig, axes = figures.subplots(rows, cols, width=3.2, height=3.0)
    rng = np.random.default_rng(0)
    for ax in axes.flat:
      ax.scatter(*rng.uniform(size=(2, 20)), label="fair pair (both at 100%)")
      ax.scatter(*rng.uniform(size=(2, 5)), marker="x",
                 label="a partner short of 100% (not judged)")
      ax.set_title("random labels (11 fair of 30 pairs)", fontsize=9)
    figures.legend(axes[0, 0])
    figures.paper_note(axes[0, 0], "most pairs above the diagonal; " * 6)
    figures.title(fig, "factors", "cifar10", "120 pairs", "small")
    # Lay out as save does, and keep the figure open to measure it; write nothing.
    with mock.patch.object(fig, "savefig"), mock.patch.object(figures.plt, "close"):
      figures.save(fig, self.get_temp_dir() + "/f")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    self.assertLen(fig.legends, 1)
    self.assertEmpty([ax for ax in fig.axes if ax.get_legend() is not None])
    legend = fig.legends[0].get_window_extent(renderer)
    self.assertEqual([t.get_text() for t in fig.legends[0].get_texts()],
                     ["fair pair (both at 100%)", "a partner short of 100% (not judged)"])
    self.assertTrue(fig.bbox.contains(legend.x0, legend.y0) and
                    fig.bbox.contains(legend.x1, legend.y1), legend)
    others = [fig._suptitle.get_window_extent(renderer)]
    others += [ax.get_tightbbox(renderer) for ax in fig.axes]
    others += [t.get_window_extent(renderer) for t in fig.texts]
    for other in others:
      self.assertFalse(legend.overlaps(other), (legend, other))


if __name__ == "__main__":
  tf.test.main()


class ZeroFloorTest(tf.test.TestCase):
  """Exact zeros on log axes: moved to a floor a decade below the smallest positive value."""

  def test_zeros_move_to_one_floor_across_columns(self):
    x = pd.Series([4.4e-7, 0.0, math.nan, 1.2e-2])
    y = pd.Series([3.6e-10, 5.0, 0.0, 2.0])
    (moved_x, moved_y), floor = figures.zero_floor(x, y)
    self.assertEqual(floor, 1e-11)  # a decade below 3.6e-10's decade, over both columns
    self.assertEqual((moved_x[1], moved_y[2]), (1e-11, 1e-11))
    np.testing.assert_array_equal(moved_x.drop(index=1), x.drop(index=1))
    np.testing.assert_array_equal(moved_y.drop(index=2), y.drop(index=2))

  def test_nothing_moves_without_a_zero_or_without_a_positive_value(self):
    for columns in ((pd.Series([1e-3, 2.0]),), (pd.Series([0.0, 0.0]),),
                    (pd.Series([0.0, -1.0]),)):
      moved, floor = figures.zero_floor(*columns)
      self.assertIsNone(floor)
      self.assertIs(moved[0], columns[0])
