"""A report's customer filter (`ReportRequest.only`) as Ibis: keep the rows of the customers
whose first-touch channel and first campaign are the ones asked (the same keys as the `channel`
and `campaign` breakdowns, so a filtered report equals that key's rows of the broken-down one)
and who are members of the saved segment asked."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics.common import breakdown
from touchpoint.analytics.reports import CustomerFilter, ReportRequest, Sources


def restrict(sources: Sources, table: ir.Table, request: ReportRequest) -> ir.Table:
    """`table` (with a customer_id column) without the customers the request leaves out."""
    if request.only is None:
        return table
    for chosen in _chosen(sources, request.only):
        table = table.semi_join(chosen, table.customer_id == chosen.customer_id)
    return table


def _chosen(sources: Sources, only: CustomerFilter) -> list[ir.Table]:
    """One table of customer_id per condition; a customer must be in each."""
    tables = []
    for by, value in (("channel", only.channel), ("campaign", only.campaign)):
        if value is not None:
            keys = breakdown(sources, by)
            assert keys is not None
            tables.append(keys.filter(keys.key == value).select("customer_id"))
    if only.members is not None:
        tables.append(_members(sources, only.members))
    return tables


def _members(sources: Sources, members: frozenset[str]) -> ir.Table:
    ids = ibis.memtable(pa.table({"_id": pa.array(sorted(members), pa.string())}))
    keys = sources.customer_keys
    if keys is None:  # the system of record: customer_id is the id
        return ids.select(customer_id=ids._id)
    found = keys.semi_join(ids, keys.id == ids._id)  # the columnar copy's integer keys
    return found.select(customer_id=found.key)
