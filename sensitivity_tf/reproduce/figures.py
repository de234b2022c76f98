"""What every figure shares: headless matplotlib, PNG + PDF output, titles, paper notes."""

from __future__ import annotations

import pathlib
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display needed, on laptops, CI and clusters alike

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

DPI = 100


MIN_WIDTH = 6.0  # inches: a one-column figure (one dataset) still fits its titles


def subplots(rows: int, cols: int, width: float = 4.2, height: float = 3.4):
  fig, axes = plt.subplots(rows, cols, figsize=(max(width * cols, MIN_WIDTH), height * rows),
                           squeeze=False)
  return fig, axes


def title(fig, experiment: str, dataset: str, networks: str, preset: str) -> None:
  text = f"{experiment}: {dataset}, {networks}, {preset} preset"
  fig.suptitle(textwrap.fill(text, int(fig.get_figwidth() * 12)), fontsize=11)


def paper_note(ax, text: str, source: str = "paper") -> None:
  """The paper's reported values (``source`` "paper"), or ours beside them ("ours"): as a
  caption under the figure (inside the axes a note would hide points), written by
  ``save``."""
  notes = ax.figure.__dict__.setdefault("_paper_notes", [])
  if (source, text) not in notes:
    notes.append((source, text))


def _caption(fig) -> tuple:
  """The paper notes as one caption, and the height (inches) it needs under the panels."""
  notes = fig.__dict__.get("_paper_notes", [])
  if not notes:
    return "", 0.0
  caption = "\n".join(textwrap.fill(f"{source}: {n}", int(fig.get_figwidth() * 15))
                      for source, n in notes)
  return caption, 0.16 * (caption.count("\n") + 1) + 0.12


def legend(ax) -> None:
  """``ax``'s legend, drawn by ``save`` once for the whole figure, in one row of its own
  between the title and the panels (inside a panel it would sit on points)."""
  ax.figure.__dict__["_legend_axes"] = ax


LEGEND_BAND = 0.15  # inches added above the panels for a figure legend (tight_layout pads the rest)


def zero_floor(*columns):
  """``columns`` (pandas Series) for a log axis: exact zeros (a float32 train loss or ‖J‖ can
  reach 0.0) moved to a floor one decade below the decade of the smallest positive value over
  all of them, so that one zero does not turn the panel linear; returns (columns, floor),
  floor None when no column has a zero (or none has a positive value). Negative values are
  left as they are (the panel then stays linear)."""
  finite = np.concatenate([np.asarray(c, dtype=float) for c in columns])
  finite = finite[np.isfinite(finite)]
  positive = finite[finite > 0]
  if not (finite == 0).any() or not positive.size:
    return list(columns), None
  floor = 10.0 ** (np.floor(np.log10(positive.min())) - 1)
  return [c.where(c != 0, floor) for c in columns], floor


def mark_floor(ax, floor: float, vertical: bool = False) -> None:
  """The floor of `zero_floor` as a dotted line (also vertical for scatter panels), labelled."""
  ax.axhline(floor, color="0.6", lw=0.8, ls=":")
  if vertical:
    ax.axvline(floor, color="0.6", lw=0.8, ls=":")
  ax.annotate("exactly 0 (drawn here)", (0.02, floor), xycoords=("axes fraction", "data"),
              va="bottom", fontsize=6, color="0.4")


def identity_line(ax) -> None:
  low = min(ax.get_xlim()[0], ax.get_ylim()[0])
  high = max(ax.get_xlim()[1], ax.get_ylim()[1])
  ax.plot([low, high], [low, high], color="0.5", lw=0.8, ls="--", zorder=0)
  ax.set_xlim(low, high)
  ax.set_ylim(low, high)


def _short_labels(mantissas):
  def label(value, _pos) -> str:
    mantissa = round(value / 10 ** np.floor(np.log10(value)), 6)
    return f"{value:g}" if mantissa in mantissas else ""
  return ticker.FuncFormatter(label)


def _tidy_log_axes(fig) -> None:
  """Log-axis labels that do not collide: with two or more powers of ten in range, only
  those are labelled; in a narrower range, 1, 2 and 5 times a power of ten, written short
  (matplotlib's default labels 2x, 3x, 4x, 6x as wide 'a×10^b' near one decade); below
  0.6 decades, every integer multiple."""
  for ax in fig.axes:
    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
      if axis.get_scale() != "log" or min(limits) <= 0:
        continue
      low, high = np.log10(sorted(limits))
      if np.floor(high) - np.ceil(low) >= 1:  # at least two powers of ten inside
        axis.set_minor_formatter(ticker.NullFormatter())
      else:
        labels = _short_labels(range(1, 10) if high - low < 0.6 else (1, 2, 5))
        axis.set_major_formatter(labels)
        axis.set_minor_formatter(labels)


def _title_bottom(fig) -> float:
  """How far the title's lower edge lies below the figure's top, in inches (0 without one)."""
  if fig._suptitle is None:
    return 0.0
  extent = fig._suptitle.get_window_extent(fig.canvas.get_renderer())
  return (fig.bbox.y1 - extent.y0) / fig.dpi


def save(fig, path) -> list:
  """Writes ``path``.png and ``path``.pdf; returns both paths."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  _tidy_log_axes(fig)
  # Laid out in inches: the title keeps 5% of the panels' height at the top (or what it
  # needs, with a legend under it), a figure legend a band under the title, the caption a
  # band at the bottom.
  title_band = 0.05 * fig.get_figheight()
  legend_axes = fig.__dict__.get("_legend_axes")
  legend_band = LEGEND_BAND if legend_axes is not None else 0.0
  caption, caption_band = _caption(fig)
  fig.set_figheight(fig.get_figheight() + legend_band + caption_band)
  height = fig.get_figheight()
  if caption:
    fig.text(0.01, 0.06 / height, caption, fontsize=8, color="0.3", va="bottom", ha="left")
  if legend_axes is not None:
    title_band = max(title_band, _title_bottom(fig) + 0.05)
    handles, labels = legend_axes.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(handles), fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, 1 - title_band / height))
  fig.tight_layout(rect=(0, caption_band / height, 1, 1 - (title_band + legend_band) / height))
  out = []
  for ext in ("png", "pdf"):
    target = path.with_suffix(f".{ext}")
    fig.savefig(target, dpi=DPI)
    out.append(target)
  plt.close(fig)
  return out
