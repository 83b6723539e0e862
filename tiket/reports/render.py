"""A report as text, JSON, CSV or HTML (charts inline as PNG), from one Report value."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tiket.reports.builder import Report, TimeStats

FORMATS = ("text", "json", "csv", "html")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tiket.reports", "templates"),
        autoescape=select_autoescape(("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    env.filters["hours"] = hours
    return env


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def render(report: Report, fmt: str, *, charts: Mapping[str, bytes] | None = None) -> str:
    if fmt == "json":
        return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return as_csv(report)
    if fmt == "html":
        from tiket.reports.charts import render_charts  # matplotlib: only when drawing

        images = render_charts(report) if charts is None else charts
        return as_html(report, {name: data_uri(png) for name, png in images.items()})
    if fmt == "text":
        return as_text(report)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def as_dict(report: Report) -> dict[str, Any]:
    return dataclasses.asdict(report)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


CHARTS = {
    "categories": "Tickets per category per month",
    "resolution": "Resolution time (business hours)",
    "backlog": "Backlog (open tickets)",
    "sla": "SLA compliance per team",
}


def as_html(report: Report, sources: Mapping[str, str]) -> str:
    """`sources` maps chart names to an img src (a data: URI, or a cid: in mail)."""
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            r=report,
            charts=[(name, CHARTS[name], sources[name]) for name in CHARTS if name in sources],
        )
    )


def rows(report: Report) -> list[tuple[str, str, str, str]]:
    """(section, dimension, label, value): every figure of the report once."""
    out: list[tuple[str, str, str, str]] = [
        ("totals", "", "tickets in", str(report.tickets_in)),
        ("totals", "", "tickets closed", str(report.tickets_closed)),
        ("totals", "", "reopened", str(report.reopened)),
        ("totals", "", "reopen rate", _num(report.reopen_rate)),
    ]
    for section, table in (("in", report.tickets_in_by), ("closed", report.tickets_closed_by)):
        for dimension, items in table.items():
            out += [(f"tickets {section}", dimension, label, str(n)) for label, n in items]
    for name, stats in (
        ("first response", report.first_response),
        ("resolution", report.resolution),
    ):
        out += [
            (name, "", "count", str(stats.count)),
            (name, "", "median hours", _num(stats.median_hours)),
            (name, "", "p90 hours", _num(stats.p90_hours)),
            (name, "", "within SLA", _num(stats.within_sla)),
        ]
    out += [("resolution histogram", "", label, str(n)) for label, n in report.resolution_histogram]
    for team in report.sla_by_team:
        out += [
            ("SLA", team.team, "first response within", _num(team.first_response_within)),
            ("SLA", team.team, "resolution within", _num(team.resolution_within)),
        ]
    out += [("backlog", "", label, str(n)) for label, n in report.backlog]
    for name, series in report.category_series.items():
        out += [
            ("tickets per month", name, month, str(n))
            for month, n in zip(report.category_months, series, strict=True)
        ]
    out += [
        ("satisfaction", "", "count", str(report.satisfaction_count)),
        ("satisfaction", "", "average", _num(report.satisfaction_average)),
    ]
    out += [
        ("satisfaction", "score", str(s), str(n))
        for s, n in report.satisfaction_distribution.items()
    ]
    out += [("top problems", p.category, p.subject, str(p.tickets)) for p in report.top_problems]
    return out


def _num(value: float | None) -> str:
    return "" if value is None else str(value)


def as_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "dimension", "label", "value"))
    writer.writerows(rows(report))
    return buffer.getvalue()


def as_text(report: Report) -> str:
    lines = [report.title, "=" * len(report.title)]
    lines += [f"{report.first_day} – {report.last_day} ({report.timezone}), business hours", ""]
    add: Callable[[str], None] = lines.append
    add(
        f"Tickets in {report.tickets_in}, closed {report.tickets_closed}, "
        f"reopened {report.reopened} (rate {pct(report.reopen_rate)})"
    )
    for name, stats in (
        ("First response", report.first_response),
        ("Resolution", report.resolution),
    ):
        add(_stats_line(name, stats))
    if report.satisfaction_count:
        add(
            f"Satisfaction: {report.satisfaction_average} average of "
            f"{report.satisfaction_count} answers {report.satisfaction_distribution}"
        )
    for section, table in (("in", report.tickets_in_by), ("closed", report.tickets_closed_by)):
        for dimension, items in table.items():
            add("")
            add(f"Tickets {section} by {dimension}")
            lines.extend(f"  {label:<40} {n:>8}" for label, n in items)
    add("")
    add("SLA per team              first response   resolution")
    for t in report.sla_by_team:
        add(f"  {t.team:<24} {pct(t.first_response_within):>13}   {pct(t.resolution_within):>10}")
    add("")
    add("Resolution time")
    lines.extend(f"  {label:<10} {n:>8}" for label, n in report.resolution_histogram)
    add("")
    add("Backlog")
    lines.extend(f"  {label:<10} {n:>8}" for label, n in report.backlog)
    if report.top_problems:
        add("")
        add("Top recurring problems")
        for p in report.top_problems:
            add(
                f"  {p.tickets:>6}  {p.category[:28]:<28} {p.subject[:60]}  "
                f"({p.requesters} requesters, {p.agencies} agencies)"
            )
    return "\n".join(lines) + "\n"


def _stats_line(name: str, stats: TimeStats) -> str:
    return (
        f"{name}: {stats.count} tickets, median {hours(stats.median_hours)}, "
        f"p90 {hours(stats.p90_hours)}, within SLA {pct(stats.within_sla)} (business hours)"
    )
