"""Server-side SVG charts for the dashboard: no chart library, no script, no inline style.

Colours come from CSS classes (static/console.css), so the page's CSP needs no
'unsafe-inline'; every chart has a title and a table twin for screen readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.db.console.queries import DiscountSplit

WIDTH, HEIGHT, PAD = 640, 180, 24


def bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Grouped bars: one group per label, one bar per series (integers, e.g. minor units)."""
    top = max([1, *(v for _, values in series for v in values)])
    groups = max(1, len(labels))
    group_w = (WIDTH - 2 * PAD) / groups
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
             f'y2="{HEIGHT - PAD}"/>']
    for g, label in enumerate(labels):
        for s, (name, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = (HEIGHT - 2 * PAD) * value / top
            x = PAD + g * group_w + group_w * 0.1 + s * bar_w
            parts.append(f'<rect class="s{s}" x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}">'
                         f"<title>{escape(label)} {escape(name)}: {value}</title></rect>")
        if groups <= 16 or g % max(1, groups // 8) == 0:
            parts.append(f'<text x="{PAD + g * group_w + group_w / 2:.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rest_rows(split: DiscountSplit, t: Mapping[str, str]) -> list[tuple[str, int]]:
    """The period's discounts beyond the rules shown, as labelled amounts: the other rules,
    points paid and the unrecorded rest, the empty ones left out."""
    tail = [(t["other_rules"], split.other_rules), (t["points_paid"], split.points),
            (t["discounts_unsplit"], split.unsplit)]
    return [(label, amount) for label, amount in tail if amount]
