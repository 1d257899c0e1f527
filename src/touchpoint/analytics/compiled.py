"""Reports' queries compiled once per shape on DuckDB. A report built again for a later moment
(a page shown again, the next request) is the same Ibis expression but for its moments: the
period's bounds, "now", the day the RFM summary ends. Compiling it to SQL (Ibis' rewrites and
sqlglot's generator) was a third of an analytics page. Here each moment (a timestamp or date
literal) becomes a typed parameter (`CAST($t0 AS TIMESTAMP)`), the SQL is compiled once per
expression with its moments taken out, and every later run binds that run's moments to it.

The key is the expression itself with each distinct moment replaced by a numbered parameter
(Ibis nodes compare and hash by structure), so two expressions share SQL only when they are the
same query but for those values; equal moments share one parameter, so an expression whose
start equals its end is another shape than one whose do not. Any other literal (a channel name,
a threshold) stays in the SQL and in the key. A DuckDB parameter is bound exactly (Ibis writes
a timestamp literal as `make_timestamp(..., seconds + micros / 1e6)`, a float).

Only the DuckDB backend (the columnar copy) is compiled here; other backends, and queries over
an in-memory table (made for one request, and named for it), run as Ibis runs them. If DuckDB refuses the parameterised SQL, the query runs as Ibis compiles it and its shape
is not tried again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge

KEPT = 256  # compiled shapes remembered (each report's few queries, per breakdown and period)
_lock = threading.Lock()
_compiled: OrderedDict[ops.Node, str | None] = OrderedDict()  # None: runs as Ibis compiles it


def to_arrow(backend: Any, expr: ir.Expr) -> pa.Table:
    """`backend.to_pyarrow(expr)`, with the SQL compiled once per shape on DuckDB."""
    if getattr(backend, "name", None) != "duckdb":
        return backend.to_pyarrow(expr)
    table = expr.as_table()
    root = table.op()
    moments = _moments(root)
    if not moments or root.find(ops.InMemoryTable):  # a table made for one request: its own SQL
        return backend.to_pyarrow(expr)
    names = {literal: f"t{n}" for n, literal in enumerate(moments)}
    key = root.replace(
        {literal: ops.ScalarParameter(literal.dtype, n) for n, literal in enumerate(moments)}
    )
    with _lock:
        sql = _compiled.get(key, "")
        if sql:
            _compiled.move_to_end(key)
    if sql is None:
        return backend.to_pyarrow(expr)
    if not sql:
        sql = _compile(backend, table, names)
    values = {names[literal]: literal.value for literal in moments}
    backend._run_pre_execute_hooks(expr)  # in-memory tables registered, as Ibis does
    try:
        arrow = backend.con.execute(sql, values).to_arrow_table()
    except Exception:  # noqa: BLE001 - DuckDB's own error kinds; Ibis' own way is the answer
        _remember(key, None)
        return backend.to_pyarrow(expr)
    _remember(key, sql)
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    return expr.__pyarrow_result__(arrow, data_mapper=DuckDBPyArrowData)


def _moments(root: ops.Node) -> list[ops.Literal]:
    """The distinct timestamp (without a zone) and date literals, in the graph's own order."""
    found: list[ops.Literal] = []
    for literal in root.find(ops.Literal):
        dtype = literal.dtype
        value = literal.value
        if dtype.is_timestamp() and dtype.timezone is None and isinstance(value, datetime):
            if value.tzinfo is None:
                found.append(literal)
        elif dtype.is_date() and isinstance(value, date) and not isinstance(value, datetime):
            found.append(literal)
    return found


def _remember(key: ops.Node, sql: str | None) -> None:
    with _lock:
        _compiled[key] = sql
        _compiled.move_to_end(key)
        while len(_compiled) > KEPT:
            _compiled.popitem(last=False)


def _compile(backend: Any, table: ir.Table, names: dict[ops.Literal, str]) -> str:
    compiler = _hoisting(type(backend.compiler))
    _hoisted.names = names
    try:
        return str(compiler.to_sqlglot(table).sql(dialect=compiler.dialect))
    finally:
        _hoisted.names = {}


_hoisted = threading.local()  # the moments the compilation in this thread takes out
_hoisting_compilers: dict[type, Any] = {}


def _hoisting(base: type) -> Any:
    """An instance of the backend's compiler class whose literal rule writes the moments being
    taken out as typed parameters (a subclass: the backend's own compiler is left as it is)."""
    found = _hoisting_compilers.get(base)
    if found is None:

        class Hoisting(base):  # type: ignore[valid-type, misc]
            def visit_NonNullLiteral(self, op: Any, *, value: Any, dtype: Any) -> Any:
                name = getattr(_hoisted, "names", {}).get(op)
                if name is None:
                    return super().visit_NonNullLiteral(op, value=value, dtype=dtype)
                placeholder = sge.Placeholder(this=sg.to_identifier(name))
                return sge.Cast(this=placeholder, to=self.type_mapper.from_ibis(dtype))

        found = _hoisting_compilers[base] = Hoisting()
    return found
