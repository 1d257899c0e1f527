"""How reports read for people: percentages, durations, and the lifecycle map's colours."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console

from touchpoint.analytics.output import to_csv
from touchpoint.analytics.plots import sankey
from touchpoint.analytics.reports import ReportResult
from touchpoint.console import rich_table


def rendered(result: ReportResult) -> str:
    console = Console(width=200, record=True)
    console.print(rich_table(result))
    return console.export_text()


def test_ratios_read_as_percentages_and_days_as_minutes_hours_or_days() -> None:
    table = pa.table(
        {
            "stage": ["reach", "acquisition", "conversion"],
            "step_conversion": [1.0, 0.5189, None],
            "churn_rate": [0.25, 0.0, 1.0],
            "median_days_from_previous": [0.003472, 0.5, 81.51],
            "customers": [318, 165, 82],
        }
    )
    text = rendered(ReportResult("funnel", "Funnel", table))
    assert "51.9%" in text and "100.0%" in text and "25.0%" in text and "0.0%" in text
    assert "5 min" in text and "12.0 h" in text and "81.5 d" in text
    assert "318" in text and "0.5189" not in text
    assert "0.5189" in to_csv(ReportResult("funnel", "Funnel", table))  # files keep the numbers


def test_kpi_rows_with_a_ratio_unit_read_as_percentages_and_counts_do_not() -> None:
    table = pa.table(
        {
            "stage": ["retention", "retention"],
            "kpi": ["answer_rate", "contacts"],
            "value": [0.7628, 1691.0],
            "unit": ["ratio", "count"],
        }
    )
    text = rendered(ReportResult("kpis", "KPIs", table))
    assert "76.3%" in text and "1,691" in text and "169100" not in text


def test_the_lifecycle_map_colours_losses_risks_and_win_backs() -> None:
    table = pa.table(
        {
            "from_stage": ["(start)", "reach", "loyalty", "at_risk", "churned"],
            "to_stage": ["reach", "conversion", "at_risk", "churned", "win_back"],
            "transitions": [10, 6, 3, 2, 1],
            "customers": [10, 6, 3, 2, 1],
        }
    )
    figure = sankey(ReportResult("transitions", "Lifecycle map", table))
    link = figure.data[0].link
    colours = dict(zip(table.column("to_stage").to_pylist(), link.color, strict=True))
    assert colours["conversion"].startswith("rgba(31, 119, 180")  # onwards: blue
    assert colours["at_risk"].startswith("rgba(255, 127, 14")  # orange
    assert colours["churned"].startswith("rgba(214, 39, 40")  # red
    assert colours["win_back"].startswith("rgba(44, 160, 44")  # green
    assert list(link.value) == [10, 6, 3, 2, 1]
