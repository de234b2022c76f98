"""What every figure shares: headless matplotlib, PNG + PDF output, titles, paper notes."""

from __future__ import annotations

import pathlib
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display needed, on laptops, CI and clusters alike

import matplotlib.pyplot as plt  # noqa: E402

DPI = 100


def subplots(rows: int, cols: int, width: float = 4.2, height: float = 3.4):
  fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
  return fig, axes


def title(fig, experiment: str, dataset: str, networks: str, preset: str) -> None:
  fig.suptitle(f"{experiment}: {dataset}, {networks}, {preset} preset", fontsize=11)


def paper_note(ax, text: str) -> None:
  """The paper's reported values, shown beside ours."""
  ax.text(0.02, 0.98, textwrap.fill(f"paper: {text}", 60), transform=ax.transAxes,
          fontsize=6.5, va="top",
          ha="left", color="0.35", bbox=dict(facecolor="white", alpha=0.7, lw=0))


def identity_line(ax) -> None:
  low = min(ax.get_xlim()[0], ax.get_ylim()[0])
  high = max(ax.get_xlim()[1], ax.get_ylim()[1])
  ax.plot([low, high], [low, high], color="0.5", lw=0.8, ls="--", zorder=0)
  ax.set_xlim(low, high)
  ax.set_ylim(low, high)


def save(fig, path) -> list:
  """Writes ``path``.png and ``path``.pdf; returns both paths."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.tight_layout(rect=(0, 0, 1, 0.95))
  out = []
  for ext in ("png", "pdf"):
    target = path.with_suffix(f".{ext}")
    fig.savefig(target, dpi=DPI)
    out.append(target)
  plt.close(fig)
  return out
