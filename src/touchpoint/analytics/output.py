"""A report result as JSON (rows + columns), CSV or a Rich table — for the API and the CLI."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from typing import Any

from rich.table import Table

from touchpoint.analytics.reports import ReportResult


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def payload(result: ReportResult) -> dict[str, Any]:
    columns = [{"name": field.name, "type": str(field.type)} for field in result.table.schema]
    rows = [{k: _json_value(v) for k, v in row.items()} for row in result.table.to_pylist()]
    return {
        "report": result.name,
        "title": result.title,
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


def rich_table(result: ReportResult) -> Table:
    table = Table(title=result.title, caption="; ".join(result.notes) or None)
    numeric = {f.name for f in result.table.schema if str(f.type).startswith(("int", "double"))}
    for name in result.table.column_names:
        table.add_column(name, justify="right" if name in numeric else "left")
    for row in result.table.to_pylist():
        table.add_row(*[_cell(v) for v in row.values()])
    return table
