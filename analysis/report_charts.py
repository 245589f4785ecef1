"""The weekly report's two charts, drawn with matplotlib (Agg) into PNG bytes.

- :func:`shares_chart`: the share of AI-role postings mentioning each of a few frameworks, one line per framework
  over 12 weeks or 12 months (the report decides which, see ``analysis.report.chart_grain``), with the 95 % Wilson
  interval as a band, each framework in a small panel of its own (on one y scale), so six bands do not pile up.
  A period with no measured posting is a gap, which the line bridges with a dashed segment; a point measured on
  fewer than ``min_postings`` postings is drawn hollow and light, and the segments touching it dashed, so the eye
  follows the solid, well-measured part. The panels are named in their titles; the key to the marks sits under
  the panels, outside every plot area.
- :func:`roles_chart`: AI-role postings per period, stacked ai_swe / ml_engineer bars.
- :func:`pay_chart`: the median annualised base pay of each role per month, with its 95 % bootstrap interval as
  an error bar; a median of fewer than ``min_n`` postings is hollow.

The layout rules live in pure functions (:func:`segments`, :func:`is_muted`) so the tests check them without
reading pixels; :func:`shares_figure` returns the figure itself, so a test can check where the legend is.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#bab0ac")
MUTED_ALPHA = 0.45
BAND_ALPHA = 0.12
FIGSIZE = (7.6, 5.0)
ROLE_FIGSIZE = (7.6, 3.4)
ROLE_COLORS = ("#4c78a8", "#f58518")
PAY_FIGSIZE = (7.6, 3.4)


@dataclass(frozen=True)
class PayPoint:
    """One role's pay in one month: the median, its 95 % interval and n."""

    period: dt.date
    median: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class ChartPoint:
    """One framework in one period: share k / n with its 95 % interval, and n (how well it is measured)."""

    period: dt.date
    share: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class Segment:
    """A line between two points of a series, by position on the x axis; dashed across a gap or a thin point."""

    x0: int
    x1: int
    dashed: bool


def is_muted(point: ChartPoint, min_postings: int) -> bool:
    """A point measured on fewer than ``min_postings`` postings: drawn hollow and light."""
    return point.n < min_postings


def segments(points: Sequence[ChartPoint], periods: Sequence[dt.date], min_postings: int) -> list[Segment]:
    """The segments joining consecutive points of a series (``points`` in period order, only periods with data):
    solid between neighbouring periods both well measured, dashed when periods without data lie between them
    (a bridge) or when either end is muted. A series is never left as a lone dot while it has two points."""
    position = {period: i for i, period in enumerate(periods)}
    placed = [(position[p.period], p) for p in points if p.period in position]
    return [Segment(x0, x1, dashed=x1 - x0 > 1 or is_muted(a, min_postings) or is_muted(b, min_postings))
            for (x0, a), (x1, b) in itertools.pairwise(placed)]


PANEL_TITLE_CHARS = 28


def panel_title(name: str) -> str:
    """A framework's name short enough for a panel: a long name with an abbreviation in brackets becomes the
    abbreviation ("Retrieval-augmented generation (RAG)" -> "RAG"), any other is cut with an ellipsis."""
    if len(name) <= PANEL_TITLE_CHARS:
        return name
    bracketed = re.fullmatch(r".*\((.+)\)", name)
    if bracketed and len(bracketed.group(1)) <= PANEL_TITLE_CHARS:
        return bracketed.group(1)
    return textwrap.shorten(name, PANEL_TITLE_CHARS, placeholder="…")


def period_labels(periods: Sequence[dt.date], grain: str) -> list[str]:
    """Tick labels: ``W07`` for weeks; ``Mar`` for months, with the year under the first month and every January."""
    if grain == "week":
        return [f"W{p.isocalendar()[1]:02d}" for p in periods]
    return [f"{p:%b}\n{p:%Y}" if i == 0 or p.month == 1 else f"{p:%b}" for i, p in enumerate(periods)]


# matplotlib is imported by the functions below, not at the top: it takes `import analysis.report` from 0.38 s to
# 0.86 s (measured with /usr/bin/time), paid by `jobtrend report --stored` and every process that imports the
# report module without drawing a chart.


def _figure(size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib: ~0.5 s, see above
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    return figure


def png(figure) -> bytes:
    """The figure as PNG bytes (no software metadata: the same chart gives the same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def shares_figure(periods: Sequence[dt.date], grain: str, series: dict[str, list[ChartPoint]], *, title: str,
                  min_postings: int, caption: str = ""):
    """The share chart as a matplotlib figure: one small panel per framework (up to six, two rows of three), on
    one y scale, so each line keeps its band readable and no legend covers a line; the key to the marks sits
    under the panels, outside them."""
    from matplotlib.lines import Line2D  # matplotlib: ~0.5 s, see above
    from matplotlib.patches import Patch

    figure = _figure(FIGSIZE)
    names = list(series)
    columns = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    panels = [axes for row in grid for axes in row]
    top = 0.0
    for index, (axes, name) in enumerate(zip(panels, names, strict=False)):
        color = PALETTE[index % len(PALETTE)]
        top = max(top, _draw_series(axes, series[name], periods, color, min_postings))
        axes.set_title(panel_title(name), fontsize=8.5, loc="left", color=color,
                       fontweight="bold")
    for axes in panels[len(names):]:
        axes.set_visible(False)
    for index, axes in enumerate(panels):
        _style_panel(axes, periods, grain, bottom=index >= len(panels) - columns, left=index % columns == 0)
    panels[0].set_ylim(0, min(100.0, max(5.0, top * 1.08)))
    if len(_periods_with_data(series)) < 2:
        message = "no trend data" if not series else f"only one {grain} with data: no trend to draw yet"
        panels[0].text(0.5, 0.5, message, ha="center", va="center", transform=panels[0].transAxes, color="#888888")
    figure.suptitle(title, fontsize=10, x=0.01, ha="left")
    figure.supylabel("share of AI-role postings", fontsize=9)
    key = [Line2D([], [], color="#555555", marker="o", markersize=4, linewidth=1.8,
                  label=f"share ({min_postings}+ postings)"),
           Patch(color="#555555", alpha=0.25, label="95 % interval"),
           Line2D([], [], color="#555555", marker="o", markersize=4, markerfacecolor="white", linestyle=(0, (3, 2)),
                  alpha=0.8, label=f"fewer than {min_postings} postings, or across a gap")]
    figure.tight_layout(rect=(0, 0.1 if caption else 0.07, 1, 1))
    figure.legend(handles=key, loc="lower center", bbox_to_anchor=(0.5, 0.04 if caption else 0.0), ncol=3,
                  fontsize=7.5, frameon=False)
    if caption:
        figure.text(0.5, 0.0, textwrap.fill(caption, 130), fontsize=7, color="#57606a", ha="center", va="bottom")
    return figure


def _style_panel(axes, periods: Sequence[dt.date], grain: str, *, bottom: bool, left: bool) -> None:
    step = 1 if len(periods) <= 6 else 2  # every other tick in a narrow panel, the latest period always labelled
    shown = [i for i in range(len(periods)) if (len(periods) - 1 - i) % step == 0]
    labels = dict(zip(shown, period_labels([periods[i] for i in shown], grain), strict=True))
    axes.set_xticks(range(len(periods)))
    axes.set_xticklabels([labels.get(i, "") for i in range(len(periods))], fontsize=7)
    axes.set_xlim(-0.5, len(periods) - 0.5)
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0f}%")
    axes.tick_params(axis="y", labelsize=7, labelleft=left)
    axes.tick_params(axis="x", labelbottom=bottom)
    axes.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _periods_with_data(series: dict[str, list[ChartPoint]]):
    return {p.period for points in series.values() for p in points}


def _runs(positions: list[int]) -> list[set[int]]:
    """Consecutive positions grouped: [0, 1, 2, 5, 6, 9] -> {0, 1, 2}, {5, 6}, {9}."""
    runs: list[set[int]] = []
    for x in sorted(positions):
        if runs and x - 1 in runs[-1]:
            runs[-1].add(x)
        else:
            runs.append({x})
    return runs


def _draw_series(axes, points: list[ChartPoint], periods: Sequence[dt.date], color: str, min_postings: int) -> float:
    """One framework: its band (over the well-measured points), its segments and its markers; returns the highest
    value drawn (in %), for the y limit."""
    position = {period: i for i, period in enumerate(periods)}
    strong = [p for p in points if not is_muted(p, min_postings) and p.period in position]
    for run in _runs([position[p.period] for p in strong]):  # a band never spans a gap or a muted point
        shown = [p for p in strong if position[p.period] in run]
        if len(shown) == 1:  # one well-measured point alone: its interval as a bar, not a band of no width
            p = shown[0]
            axes.vlines(position[p.period], p.ci_low * 100, p.ci_high * 100, color=color, alpha=0.3, linewidth=5)
            continue
        axes.fill_between([position[p.period] for p in shown], [p.ci_low * 100 for p in shown],
                          [p.ci_high * 100 for p in shown], color=color, alpha=BAND_ALPHA, linewidth=0)
    by_x = {position[p.period]: p for p in points if p.period in position}
    for segment in segments(points, periods, min_postings):
        a, b = by_x[segment.x0], by_x[segment.x1]
        axes.plot([segment.x0, segment.x1], [a.share * 100, b.share * 100], color=color,
                  linewidth=1.2 if segment.dashed else 1.8, linestyle=(0, (3, 2)) if segment.dashed else "-",
                  alpha=0.7 if segment.dashed else 1.0, solid_capstyle="round")
    for x, p in by_x.items():
        if is_muted(p, min_postings):
            axes.plot([x], [p.share * 100], marker="o", markersize=4.5, markerfacecolor="white",
                      markeredgecolor=color, alpha=MUTED_ALPHA + 0.2, linestyle="none")
        else:
            axes.plot([x], [p.share * 100], marker="o", markersize=4.5, color=color, linestyle="none")
    return max([p.share * 100 for p in by_x.values()] + [p.ci_high * 100 for p in strong] + [0.0])


def shares_chart(periods: Sequence[dt.date], grain: str, series: dict[str, list[ChartPoint]], *, title: str,
                 min_postings: int, caption: str = "") -> bytes:
    """PNG of :func:`shares_figure`."""
    return png(shares_figure(periods, grain, series, title=title, min_postings=min_postings, caption=caption))


def roles_chart(periods: Sequence[dt.date], grain: str, counts: Sequence[tuple[int, int]], *, title: str,
                labels: tuple[str, str]) -> bytes:
    """PNG: AI-role postings per period, stacked bars of (ai_swe, ml_engineer) ``counts``, one per period."""
    from matplotlib.ticker import MaxNLocator  # matplotlib: ~0.5 s, see above

    figure = _figure(ROLE_FIGSIZE)
    axes = figure.add_subplot()
    swe = [a for a, _ in counts]
    mle = [m for _, m in counts]
    x = list(range(len(periods)))
    axes.bar(x, swe, color=ROLE_COLORS[0], label=labels[0])
    axes.bar(x, mle, bottom=swe, color=ROLE_COLORS[1], label=labels[1])
    axes.set_xticks(x)
    axes.set_xticklabels(period_labels(periods, grain), fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=8)
    axes.set_ylabel("postings", fontsize=9)
    axes.set_title(title, fontsize=10, loc="left")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not any(swe) and not any(mle):
        axes.text(0.5, 0.5, "no classified postings", ha="center", va="center", transform=axes.transAxes,
                  color="#888888")
        axes.set_ylim(0, 1)
    figure.tight_layout()
    return png(figure)


def pay_chart(periods: Sequence[dt.date], series: dict[str, list[PayPoint]], *, title: str, min_n: int,
              caption: str = "") -> bytes:
    """PNG: one median per role and month, side by side, with its interval as an error bar; hollow below
    ``min_n`` postings."""
    figure = _figure(PAY_FIGSIZE)
    axes = figure.add_subplot()
    position = {period: i for i, period in enumerate(periods)}
    width = 0.5 / max(1, len(series))
    for index, (name, points) in enumerate(series.items()):
        color = ROLE_COLORS[index % len(ROLE_COLORS)] if index < len(ROLE_COLORS) else PALETTE[index]
        offset = (index - (len(series) - 1) / 2) * width
        for p in points:
            if p.period not in position:
                continue
            x = position[p.period] + offset
            thin = p.n < min_n
            spread = [[(p.median - p.ci_low) / 1000], [(p.ci_high - p.median) / 1000]]
            axes.errorbar([x], [p.median / 1000], yerr=spread, fmt="o", color=color, markersize=5, capsize=2,
                          elinewidth=1.2, markerfacecolor="white" if thin else color,
                          alpha=MUTED_ALPHA + 0.2 if thin else 1.0)
        axes.plot([], [], "o", color=color, label=name)
    axes.set_xticks(range(len(periods)))
    axes.set_xticklabels(period_labels(periods, "month"), fontsize=8)
    axes.set_xlim(-0.5, len(periods) - 0.5)
    axes.yaxis.set_major_formatter(lambda value, _: f"${value:.0f}k")
    axes.tick_params(axis="y", labelsize=8)
    axes.set_title(title, fontsize=10, loc="left")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if caption:
        figure.text(0.01, 0.0, textwrap.fill(caption, 120), fontsize=7, color="#57606a", ha="left", va="bottom")
    figure.tight_layout(rect=(0, 0.08 if caption else 0, 1, 1))
    return png(figure)
