"""Charts as inline SVG drawn on the server: no JavaScript, no build step, readable without colour
(every bar and point has a ``<title>`` with its value, every chart an ``aria-label``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

PALETTE = (
    "#2f5fd0",
    "#e07b39",
    "#1e7d43",
    "#b3261e",
    "#7a4fd0",
    "#0f8b8d",
    "#9a6700",
    "#c2185b",
    "#5d6677",
    "#8bc34a",
)
W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 42


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = False


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _frame(
    title: str, body: list[str], y_ticks: Sequence[tuple[float, str]], x_labels: Sequence[tuple[float, str]]
) -> Markup:
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}"/>',
    ]
    for y, label in y_ticks:
        parts.append(f'<line x1="{LEFT - 3}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#eef0f4"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    for x, label in x_labels:
        parts.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def _y(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    return H - BOTTOM - (value - low) / span * (H - TOP - BOTTOM)


def _ticks(low: float, high: float, fmt: Callable[[float], str]) -> list[tuple[float, str]]:
    return [(_y(v, low, high), fmt(v)) for v in (low, (low + high) / 2, high)]


def _x_labels(labels: Sequence[str], centre: Callable[[int], float]) -> list[tuple[float, str]]:
    step = max(1, len(labels) // 8)
    return [(centre(i), label) for i, label in enumerate(labels) if i % step == 0]


def stacked_bars(title: str, labels: Sequence[str], series: dict[str, list[float]]) -> Chart:
    """One bar per label, stacked by series (counts over time)."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    high = max(totals, default=0.0) or 1.0
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    body: list[str] = []
    for i, label in enumerate(labels):
        base = 0.0
        for k, name in enumerate(names):
            value = series[name][i]
            if value <= 0:
                continue
            y0, y1 = _y(base, 0, high), _y(base + value, 0, high)
            body.append(
                f'<rect x="{LEFT + i * slot + slot * 0.12:.1f}" y="{y1:.1f}" width="{slot * 0.76:.1f}" '
                f'height="{max(y0 - y1, 0.5):.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{escape(label)} · {escape(name)}: {_fmt(value)}</title></rect>"
            )
            base += value
    svg = _frame(title, body, _ticks(0, high, _fmt), _x_labels(labels, lambda i: LEFT + (i + 0.5) * slot))
    legend = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]
    return Chart(title, svg, legend, empty=not any(totals))


def grouped_bars(
    title: str,
    groups: Sequence[str],
    series: dict[str, list[float | None]],
    *,
    low: float = 0.0,
    high: float | None = None,
    fmt: Callable[[float], str] = _fmt,
) -> Chart:
    """Side-by-side bars per group (a value per series; None: no data)."""
    names = list(series)
    values = [v for n in names for v in series[n] if v is not None]
    top = high if high is not None else (max(values, default=0.0) or 1.0)
    slot = (W - LEFT - RIGHT) / max(len(groups), 1)
    width = slot * 0.8 / max(len(names), 1)
    body: list[str] = []
    for i, group in enumerate(groups):
        for k, name in enumerate(names):
            value = series[name][i]
            if value is None:
                continue
            y = _y(value, low, top)
            body.append(
                f'<rect x="{LEFT + i * slot + slot * 0.1 + k * width:.1f}" y="{y:.1f}" '
                f'width="{width * 0.92:.1f}" '
                f'height="{max(H - BOTTOM - y, 0.5):.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{escape(group)} · {escape(name)}: {fmt(value)}</title></rect>"
            )
    svg = _frame(title, body, _ticks(low, top, fmt), _x_labels(groups, lambda i: LEFT + (i + 0.5) * slot))
    legend = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]
    return Chart(title, svg, legend, empty=not values)


def lines(
    title: str,
    labels: Sequence[str],
    series: dict[str, list[float | None]],
    *,
    low: float,
    high: float,
    fmt: Callable[[float], str] = _fmt,
) -> Chart:
    """A line per series over the labels (gaps where a value is None), with a dot per point."""
    names = list(series)
    step = (W - LEFT - RIGHT) / max(len(labels) - 1, 1)
    body: list[str] = []
    found = False
    for k, name in enumerate(names):
        colour = PALETTE[k % len(PALETTE)]
        path: list[str] = []
        for i, value in enumerate(series[name]):
            if value is None:
                if len(path) > 1:
                    body.append(_polyline(colour, path))
                path = []
                continue
            found = True
            x, y = LEFT + i * step, _y(max(min(value, high), low), low, high)
            path.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(labels[i])} · {escape(name)}: {fmt(value)}</title></circle>"
            )
        if len(path) > 1:
            body.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(path)}"/>'
            )
    svg = _frame(title, body, _ticks(low, high, fmt), _x_labels(labels, lambda i: LEFT + i * step))
    legend = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]
    return Chart(title, svg, legend, empty=not found)


def _polyline(colour: str, points: list[str]) -> str:
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
