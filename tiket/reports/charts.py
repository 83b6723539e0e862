"""The report's charts as PNG bytes (matplotlib, Agg backend, no pyplot state: thread-safe)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tiket.reports.builder import Report
from tiket.reports.render import CHARTS


def render_charts(report: Report) -> dict[str, bytes]:
    return {
        "categories": _categories(report),
        "resolution": _resolution(report),
        "backlog": _backlog(report),
        "sla": _sla(report),
    }


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _categories(report: Report) -> bytes:
    figure = Figure(figsize=(8, 4))
    axes = figure.add_subplot()
    axes.set_title(CHARTS["categories"], fontsize=11)
    months = report.category_months
    positions = range(len(months))  # numbers, not label strings: no "categorical units" guess
    bottom = [0] * len(months)
    for name, series in sorted(report.category_series.items(), key=lambda kv: -sum(kv[1])):
        axes.bar(positions, series, bottom=bottom, label=name)
        bottom = [a + b for a, b in zip(bottom, series, strict=True)]
    axes.set_xticks(list(positions), months, rotation=45, fontsize=8)
    if report.category_series:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def _resolution(report: Report) -> bytes:
    figure = Figure(figsize=(8, 3.4))
    axes = figure.add_subplot()
    axes.set_title(CHARTS["resolution"], fontsize=11)
    labels = [label for label, _ in report.resolution_histogram]
    axes.bar(range(len(labels)), [n for _, n in report.resolution_histogram], color="#4c78a8")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("tickets")
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def _backlog(report: Report) -> bytes:
    figure = Figure(figsize=(8, 3.4))
    axes = figure.add_subplot()
    axes.set_title(CHARTS["backlog"], fontsize=11)
    labels = [label for label, _ in report.backlog]
    axes.plot(
        range(len(labels)),
        [n for _, n in report.backlog],
        marker="o",
        markersize=3,
        color="#e45756",
    )
    step = max(1, len(labels) // 12)
    axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, fontsize=8)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def _sla(report: Report) -> bytes:
    figure = Figure(figsize=(8, 3.4))
    axes = figure.add_subplot()
    axes.set_title(CHARTS["sla"], fontsize=11)
    teams = [row.team for row in report.sla_by_team]
    positions = range(len(teams))
    first = [100 * (row.first_response_within or 0) for row in report.sla_by_team]
    resolved = [100 * (row.resolution_within or 0) for row in report.sla_by_team]
    axes.bar([p - 0.2 for p in positions], first, width=0.4, label="first response")
    axes.bar([p + 0.2 for p in positions], resolved, width=0.4, label="resolution")
    axes.set_xticks(list(positions), teams)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% within SLA")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)
