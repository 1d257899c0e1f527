"""The served app settles its heap before its first request (api.serve.settle_heap): what the
first pages would load lazily is loaded and frozen, so full collections do not walk it. Run in a
fresh interpreter (this one has long imported everything)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from touchpoint.api.serve import settle_heap
settle_heap()
gc.collect()
before = len(gc.get_objects())
# what the report pages do first: a figure in the pages' template, an Ibis query compiled for
# DuckDB, the CLV fit's library
import ibis
import plotly.graph_objects as go
go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"template": "plotly_white"}).to_json()
t = ibis.table({"k": "string", "v": "int64"}, name="t")
ibis.to_sql(t.filter(t.v > 1).group_by("k").agg(n=t.v.count()), dialect="duckdb")
import lifetimes
gc.collect()
print(len(gc.get_objects()) - before, gc.get_threshold()[0])
"""


def test_the_first_pages_libraries_are_frozen_before_the_first_request() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    added, young = (int(x) for x in done.stdout.split())
    # Without the settling, the template alone adds ~50,000 objects the collector walks.
    assert added < 2_000, added
    assert young == 20_000
