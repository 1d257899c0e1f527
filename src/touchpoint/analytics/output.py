"""A report result as JSON (rows + columns), CSV, or cells as people read them (the CLI's table
and, later, the web pages draw those)."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from typing import Any

from touchpoint.analytics.reports import ReportRequest, ReportResult


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def payload(result: ReportResult, request: ReportRequest) -> dict[str, Any]:
    """The report and what it was asked (the period and the moment taken as now)."""
    columns = [{"name": field.name, "type": str(field.type)} for field in result.table.schema]
    rows = [{k: _json_value(v) for k, v in row.items()} for row in result.table.to_pylist()]
    return {
        "report": result.name,
        "title": result.title,
        "at": _json_value(request.at),
        "from": _json_value(request.start),
        "to": _json_value(request.end),
        "columns": columns,
        "rows": rows,
        "notes": result.notes,
    }


def to_csv(result: ReportResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.table.column_names)
    for row in result.table.to_pylist():
        writer.writerow(["" if v is None else _json_value(v) for v in row.values()])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(_json_value(value))


RATIO_SUFFIXES = ("rate", "conversion", "retention", "share", "p_alive", "service_level")


def is_ratio(column: str) -> bool:
    """Columns holding a share of 1 (conversion, retention, churn…), shown as percentages."""
    return column.endswith(RATIO_SUFFIXES) or column == "roi"


def _percent(value: Any) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1%}"


def _days(value: Any) -> str:
    """A duration in days as people say it: minutes, hours or days."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 1 / 24:
        return f"{value * 1440:.0f} min"
    if value < 1:
        return f"{value * 24:.1f} h"
    return f"{value:,.1f} d"


def _seconds(value: Any) -> str:
    """A duration in seconds as people say it: seconds, minutes or hours."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:,.1f} h"


def _human(column: str, value: Any, ratio_row: bool) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        if is_ratio(column) or (ratio_row and column == "value"):
            return _percent(value)
        if "days" in column.split("_") and isinstance(value, float):
            return _days(value)
        if column.endswith("_s") and isinstance(value, float):
            return _seconds(value)
    return _cell(value)


def numeric_columns(result: ReportResult) -> set[str]:
    """Columns of numbers (right-aligned in a table)."""
    return {f.name for f in result.table.schema if str(f.type).startswith(("int", "double"))}


def human_rows(result: ReportResult) -> list[list[str]]:
    """The report's rows for people: ratios as percentages (KPI rows whose unit is "ratio" too),
    days and seconds as minutes, hours or days. CSV and JSON keep the plain numbers."""
    rows = []
    for row in result.table.to_pylist():
        ratio_row = row.get("unit") == "ratio"
        rows.append([_human(k, v, ratio_row) for k, v in row.items()])
    return rows
