"""The report catalog (names, modules, breakdowns, loaded without Ibis) is the registry's list."""

from __future__ import annotations

import subprocess
import sys

from touchpoint.analytics.catalog import CATALOG
from touchpoint.analytics.reports import load_reports


def test_every_catalog_entry_is_registered_by_its_module_and_nothing_else_is() -> None:
    reports = load_reports()
    assert set(reports) == set(CATALOG)
    for name, spec in reports.items():
        assert spec.run.__module__ == f"touchpoint.analytics.{CATALOG[name].module}", name
        assert spec.allowed_by == CATALOG[name].by


def test_running_one_report_loads_only_its_module_and_no_plotting_library() -> None:
    code = (
        "import sys\n"
        "from touchpoint.analytics.service import report_spec\n"
        "report_spec('funnel')\n"
        "print(sorted(m for m in sys.modules if m.startswith('touchpoint.analytics.')"
        " or m.split('.')[0] in ('plotly', 'pandas')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(done.stdout))  # a list of module names
    assert "touchpoint.analytics.funnel" in loaded
    others = {f"touchpoint.analytics.{e.module}" for e in CATALOG.values()} - {
        "touchpoint.analytics.funnel"
    }
    assert not loaded & others, loaded & others
    assert not {m for m in loaded if m.split(".")[0] in ("plotly", "pandas")}
