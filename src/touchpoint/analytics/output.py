"""A report result as JSON (rows + columns), CSV, or cells as people read them (the CLI's table
and, later, the web pages draw those)."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from typing import Any

import pyarrow as pa

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


DETAIL = b"detail"


def detail_field(name: str, type: pa.DataType) -> pa.Field:
    """A column kept in CSV and JSON but left out of the terminal table (ids, totals), so the
    table a person reads fits a 100-column terminal."""
    return pa.field(name, type, metadata={DETAIL: b"1"})


def table_columns(result: ReportResult) -> list[str]:
    """The columns a person reads in the terminal: all but the detail ones."""
    return [f.name for f in result.table.schema if not (f.metadata or {}).get(DETAIL)]


def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def money(value: Any) -> str:
    """An amount with thousands separators and cents: 1,084.00; "-" when there is none."""
    return f"{value:,.2f}" if _finite(value) else "-"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(_json_value(value))


RATIO_SUFFIXES = (
    "rate",
    "conversion",
    "retention",
    "share",
    "p_alive",
    "p_alive_repeat",
    "service_level",
)
RATIO_COLUMNS = ("roi", "sl", "sl2")  # sl, sl2: Asterisk's service levels (contact-center)
# the contact-center report's occupancy and SLA attainment per clock
RATIO_COLUMNS += ("occupancy", "sla_first_response", "sla_next_response", "sla_resolution")
MONEY_WORDS = ("revenue", "clv", "spend", "amount", "cac", "order_value", "ltv")


def is_ratio(column: str) -> bool:
    """Columns holding a share of 1 (conversion, retention, churn…), shown as percentages."""
    return column.endswith(RATIO_SUFFIXES) or column in RATIO_COLUMNS


def is_money(column: str) -> bool:
    """Amounts (revenue, CLV, spend, CAC…); a ratio of two (clv_to_cac) is not one."""
    return "_to_" not in column and any(word in column for word in MONEY_WORDS)


def _percent(value: Any) -> str:
    return f"{value:.1%}" if _finite(value) else "-"


def _days(value: Any) -> str:
    """A duration in days as people say it: minutes, hours or days."""
    if not _finite(value):
        return "-"
    if value < 1 / 24:
        return f"{value * 1440:.0f} min"
    if value < 1:
        return f"{value * 24:.1f} h"
    return f"{value:,.1f} d"


def _seconds(value: Any) -> str:
    """A duration in seconds as people say it: seconds, minutes or hours."""
    if not _finite(value):
        return "-"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:,.1f} h"


# A KPI row's value by its unit (kpis: one column of values with a unit beside each).
_BY_UNIT = {
    "ratio": _percent,
    "money": money,
    "count": lambda v: f"{v:,.0f}",
    "customers": lambda v: f"{v:,.0f}",
    "minutes": lambda v: f"{v:,.1f} min",
    "hours": lambda v: f"{v:,.1f} h",
    "1-5": lambda v: f"{v:.2f}",
    "-100..100": lambda v: f"{v:+.1f}",
}


def _human(column: str, value: Any, unit: str | None) -> str:
    if not _finite(value):
        return "-"
    if isinstance(value, float | int) and not isinstance(value, bool):
        if column == "value" and unit in _BY_UNIT:
            return _BY_UNIT[unit](value)
        if is_ratio(column):
            return _percent(value)
        if "days" in column.split("_") and isinstance(value, float):
            return _days(value)
        if column.endswith("_s") and isinstance(value, float):
            return _seconds(value)
        if is_money(column) and isinstance(value, float):
            return money(value)
        if column == "csat" or column.startswith("mean_expected"):
            return f"{value:,.2f}"
    return _cell(value)


def numeric_columns(result: ReportResult) -> set[str]:
    """Columns of numbers (right-aligned in a table)."""
    return {f.name for f in result.table.schema if str(f.type).startswith(("int", "double"))}


def human_rows(result: ReportResult, columns: list[str] | None = None) -> list[list[str]]:
    """The report's rows for people (only `columns`, all by default): ratios as percentages,
    money with cents, counts with thousands separators, durations in minutes, hours or days,
    times to the minute, KPI values by their unit, "-" for nothing. CSV and JSON keep the plain
    numbers."""
    names = columns or result.table.column_names
    return [
        [_human(name, row[name], row.get("unit")) for name in names]
        for row in result.table.to_pylist()
    ]
