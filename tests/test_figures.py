"""What every figure shares (sensitivity_tf/reproduce/figures.py): titles stay inside the figure
whatever the number of panels (a reproduction restricted to one dataset draws one column)."""

from absl.testing import parameterized
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


if __name__ == "__main__":
  tf.test.main()
