"""The weekly chart: the funnel and the daily trend in one PNG.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, no
display), so it is safe in a worker thread and in several processes. Pure: numbers in,
PNG bytes out; the numbers come from the SQL aggregates in bot/kpi*.py.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def weekly_png(
    title: str,
    stages: Sequence[tuple[str, int]],
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> bytes:
    """Left: funnel bars (stage name, count); right: one line per series over `days`."""
    figure = Figure(figsize=(10, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    funnel, trend = figure.subplots(1, 2)
    names = [name for name, _ in stages][::-1]
    counts = [count for _, count in stages][::-1]
    bars = funnel.barh(names, counts, color="#4c72b0")
    funnel.bar_label(bars, padding=3)
    funnel.set_xlim(0, max([*counts, 1]) * 1.2)
    for label, values in series:
        trend.plot(list(days), list(values), marker="o", label=label)
    trend.set_ylim(bottom=0)
    trend.yaxis.set_major_locator(MaxNLocator(integer=True))
    trend.legend(loc="upper left")
    trend.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
