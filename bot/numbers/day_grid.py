"""The /today picture: one column per master, the day's hours down the side, visits and
blocks as boxes over the working time, so free time is the white left between them.

matplotlib's object API on the Agg canvas (as charts.py): pure, numbers in, PNG out.
Sized for a phone: Telegram shows a photo at most 1280 px on its long side, so the figure
grows with the masters only up to a limit and the labels stay at a readable size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

DPI = 100
COLUMN_INCHES = 1.6  # one master; 10 masters → 16.8 in = 1680 px before Telegram scales
MAX_WIDTH_INCHES = 18.0
HOUR_INCHES = 0.55
COLORS = {"visit": "#4c72b0", "pending": "#8fa9d6", "block": "#b0b0b0", "free": "#ffffff"}
OFF_COLOR = "#eeeeee"


@dataclass(frozen=True)
class Box:
    start: int  # minutes from local midnight
    end: int
    label: str
    kind: str = "visit"  # visit | pending | block


@dataclass
class Column:
    name: str
    hours: list[tuple[int, int]] = field(default_factory=list)  # working intervals, minutes
    boxes: list[Box] = field(default_factory=list)


def span(
    columns: Sequence[Column], default: tuple[int, int] = (9 * 60, 20 * 60)
) -> tuple[int, int]:
    """Whole hours covering everyone's working time and every box, or `default`."""
    edges = [
        m for c in columns for iv in [*c.hours, *((b.start, b.end) for b in c.boxes)] for m in iv
    ]
    if not edges:
        return default
    return min(edges) // 60 * 60, -(-max(edges) // 60) * 60


def day_grid_png(title: str, columns: Sequence[Column], empty_text: str = "") -> bytes:
    first, last = span(columns)
    hours = (last - first) / 60
    count = max(len(columns), 1)
    width = min(MAX_WIDTH_INCHES, max(5.0, 1.0 + COLUMN_INCHES * count))
    figure = Figure(figsize=(width, 1.3 + HOUR_INCHES * hours), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_title(title, fontsize=14, loc="left")
    ax.set_xlim(0, count)
    ax.set_ylim(last, first)  # morning at the top
    ax.set_yticks(
        range(first, last + 1, 60), [f"{m // 60:02d}:00" for m in range(first, last + 1, 60)]
    )
    ax.tick_params(axis="y", labelsize=11)
    ax.xaxis.tick_top()
    ax.set_xticks([i + 0.5 for i in range(len(columns))], [c.name for c in columns], fontsize=11)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for i, column in enumerate(columns):
        _column(ax, i, column, first, last)
    if not columns and empty_text:
        ax.text(0.5, (first + last) / 2, empty_text, ha="center", va="center", fontsize=13)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _column(ax, i: int, column: Column, first: int, last: int) -> None:
    ax.add_patch(Rectangle((i, first), 1, last - first, color=OFF_COLOR, zorder=0))
    for start, end in column.hours:
        ax.add_patch(
            Rectangle((i + 0.02, start), 0.96, end - start, color=COLORS["free"], zorder=1)
        )
    for box in column.boxes:
        color = COLORS.get(box.kind, COLORS["visit"])
        hatch = "//" if box.kind == "block" else None
        ax.add_patch(
            Rectangle(
                (i + 0.05, box.start),
                0.9,
                box.end - box.start,
                facecolor=color,
                edgecolor="white",
                hatch=hatch,
                zorder=2,
            )
        )
        text_color = "black" if box.kind == "block" else "white"
        ax.text(
            i + 0.09,
            box.start + 3,
            box.label,
            fontsize=9,
            color=text_color,
            va="top",
            ha="left",
            zorder=3,
            clip_on=True,
            wrap=True,
        )
