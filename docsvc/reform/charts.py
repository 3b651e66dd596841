"""A share over months as an SVG bar chart, drawn on the server: the page
puts it inline and the export saves it as a file, the same bytes.

The pages' CSP allows no inline style and no script, so the chart uses SVG
presentation attributes only (fill, font-size…), which CSP does not govern,
and needs no library. Screen readers get a title and a description naming
the figure and its total, and every bar its own title (month, counts,
share); a month with nothing to count has no bar, and says so.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 20, 40  # room for the axis labels and a full bar's value
FONT = 'font-family="Liberation Sans, Arial, sans-serif"'
BAR, GRID, INK, MUTED = "#1f6f8b", "#d0d7de", "#1f2328", "#57606a"


@dataclass(frozen=True)
class Bar:
    label: str          # under the bar: the month, "01/2026"
    share: float | None  # 0..1; None: nothing to count that month
    title: str          # what a reader hears or hovers: "01/2026: 3 / 4 (75%)"
    value: str = ""     # over the bar: "75%"


def share_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> str:
    """One figure's chart as an <svg> element (also a whole SVG file)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" class="reform-chart" id={quoteattr(chart_id)} data-months="{len(bars)}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for percent in (0, 25, 50, 75, 100):
        y = TOP + plot_h * (1 - percent / 100)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}" '
                     f'{FONT} aria-hidden="true">{percent}%</text>')
    # Month labels thin out so that five years of months stay readable.
    every = max(1, -(-len(bars) // 12))
    for index, bar in enumerate(bars):
        x = LEFT + slot * index
        centre = x + slot / 2
        parts.append(f'<g class="bar" data-month={quoteattr(bar.label)}>')
        parts.append(f'<title>{escape(bar.title)}</title>')
        if bar.share is None:
            parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h - 4:.1f}" text-anchor="middle" font-size="11" '
                         f'fill="{MUTED}" {FONT}>–</text>')
        else:
            height = max(plot_h * bar.share, 1.0)  # a zero share still shows that the month was counted
            parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
                         f'height="{height:.1f}" fill="{BAR}"/>')
            if len(bars) <= 24:  # beyond two years the values would overlap; the titles still carry them
                parts.append(f'<text x="{centre:.1f}" y="{max(TOP + plot_h - height - 4, TOP - 4):.1f}" '
                             f'text-anchor="middle" font-size="10" fill="{INK}" {FONT} aria-hidden="true">'
                             f'{escape(bar.value)}</text>')
        if index % every == 0:
            parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="10" '
                         f'fill="{INK}" {FONT} aria-hidden="true">{escape(bar.label)}</text>')
        parts.append("</g>")
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="{INK}"/>')
    parts.append("</svg>")
    return "\n".join(parts)
