"""How reports read for people: thousands separators, money with cents, KPI values by their unit,
ids and totals left to CSV, notes as a small two-column table, never "nan"; and the CLV's
P(alive) read beside the lifecycle stage with what it means."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from rich.console import Console

from tests.analytics.conftest import day
from tests.test_cli import touchpoint
from touchpoint.analytics import clv
from touchpoint.analytics.output import detail_field, to_csv
from touchpoint.analytics.reports import ReportResult
from touchpoint.console import rich_table


def rendered(result: ReportResult, width: int = 100) -> str:
    console = Console(width=width, record=True)
    console.print(rich_table(result))
    return console.export_text()


def test_numbers_have_thousands_separators_money_has_cents_and_kpis_their_unit() -> None:
    table = pa.table(
        {
            "stage": ["conversion", "conversion", "retention", "retention", "loyalty", "reach"],
            "kpi": [
                "net_revenue",
                "average_order_value",
                "csat",
                "handle_minutes",
                "nps",
                "touches",
            ],
            "value": [900423.3, 127.3, 3.8817, 7.803, 18.67, 48784.0],
            "unit": ["money", "money", "1-5", "minutes", "-100..100", "count"],
        }
    )
    text = rendered(ReportResult("kpis", "KPIs", table))
    for shown in ("900,423.30", "127.30", "3.88", "7.8 min", "+18.7", "48,784"):
        assert shown in text, shown
    assert "3.8817" not in text and "48784" not in text


def test_a_money_column_shows_cents_in_every_row_and_times_to_the_minute() -> None:
    from datetime import UTC, datetime

    table = pa.table(
        {
            "since": [
                datetime(2026, 5, 5, 17, 18, 7, tzinfo=UTC).replace(tzinfo=None),
                datetime(2026, 11, 30, 9, 22, 4, tzinfo=UTC).replace(tzinfo=None),
            ],
            "net_revenue": [2648.0, 911.5],
        }
    )
    text = rendered(ReportResult("at-risk", "At risk", table))
    assert "2,648.00" in text and "911.50" in text
    assert "2026-05-05 17:18" in text and "17:18:07" not in text and "T17" not in text


def test_detail_columns_stay_in_csv_but_not_in_the_terminal_table() -> None:
    schema = pa.schema([detail_field("customer_id", pa.string()), ("name", pa.string())])
    result = ReportResult(
        "at-risk",
        "At risk",
        pa.Table.from_pylist(
            [{"customer_id": "cus_0123456789abcdef", "name": "Pat Doe"}], schema=schema
        ),
    )
    assert "cus_0123456789abcdef" not in rendered(result) and "Pat Doe" in rendered(result)
    assert to_csv(result) == "customer_id,name\ncus_0123456789abcdef,Pat Doe\n"


def test_notes_are_a_two_column_table_not_a_paragraph() -> None:
    table = pa.table({"group": ["all"], "customers": [3]})
    notes = ["parameters: r=0.24, alpha=4.4", "P(alive): the chance a buyer still buys"]
    lines = rendered(ReportResult("clv", "CLV", table, notes)).splitlines()
    (params,) = [line for line in lines if line.startswith("parameters")]
    (alive,) = [line for line in lines if line.startswith("P(alive)")]
    # the texts start in the same column, one note a line (not joined with "; ")
    assert params.index("r=0.24") == alive.index("the chance")
    assert not any(";" in line and "P(alive)" in line and "parameters" in line for line in lines)


def test_nothing_reads_nan() -> None:
    table = pa.table({"group": ["all"], "mean_predicted_clv_12m": [math.nan], "csat": [None]})
    text = rendered(
        ReportResult(
            "clv",
            "CLV",
            table.cast(
                pa.schema(
                    [
                        ("group", pa.string()),
                        ("mean_predicted_clv_12m", pa.float64()),
                        ("csat", pa.float64()),
                    ]
                )
            ),
        )
    )
    assert "nan" not in text.lower() and "-" in text
    row = pd.Series(
        {"predicted_clv": math.nan, "p_alive": math.nan, "historical_clv": 1084.0, "frequency": 1}
    )
    note = clv.top_customer_note(1, "cus_1", row)
    assert note == (
        "top 1 cus_1: historical 1,084.00, predicted 12m -, P(alive) -, 2 purchase days"
    )


def _p_alive_by_hand(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float
) -> float:
    """BG/NBD P(alive) (Fader, Hardie & Lee 2005, eq. 11): 1 for x = 0, else
    1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))."""
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def test_p_alive_is_about_purchase_rhythm_and_one_time_buyers_are_left_out_of_the_mean() -> None:
    # CDNOW's published BG/NBD parameters (weeks), three buyers
    params = pd.Series({"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258})
    rfm = pd.DataFrame(
        {
            "frequency": [0, 2, 6],
            "recency": [0.0, 30.43, 10.0],  # the third bought often, then stopped long ago
            "T": [38.86, 38.86, 38.86],
        },
        index=["once", "lately", "lapsed"],
    )
    with clv.quiet_lifetimes():
        from lifetimes import BetaGeoFitter

        model = BetaGeoFitter()
        model.params_ = params
        alive = model.conditional_probability_alive(rfm["frequency"], rfm["recency"], rfm["T"])
    by_hand = [
        _p_alive_by_hand(0.2426, 4.4135, 0.7929, 2.4258, int(x), t, T)
        for x, t, T in rfm[["frequency", "recency", "T"]].itertuples(index=False)
    ]
    assert list(alive) == pytest.approx(by_hand, abs=1e-6)
    assert by_hand[0] == 1.0 and by_hand[2] < 0.1 < 0.5 < by_hand[1]
    frame = rfm.assign(
        p_alive=by_hand, historical_clv=0.0, predicted_clv=0.0, expected_purchases=0.0
    )
    summary = clv._summarise("all", frame)
    assert summary["mean_p_alive"] == pytest.approx(sum(by_hand) / 3)
    assert summary["mean_p_alive_repeat"] == pytest.approx((by_hand[1] + by_hand[2]) / 2)


def test_a_purchase_model_that_does_not_converge_is_one_line_and_the_rest_still_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise ArithmeticError("no optimum")

    monkeypatch.setattr(clv, "fit_purchases", fail)
    rfm = pd.DataFrame(
        {"frequency": [1] * 10 + [0] * 15, "recency": 5.0, "T": 50.0, "monetary_value": 10.0}
    )
    with pytest.raises(
        clv.ValidationError,
        match=r"^the purchase model \(BG/NBD\) did not "
        r"converge on these purchases \(ArithmeticError\)$",
    ):
        clv.fit_first_usable(rfm)


def test_attribution_fits_a_100_column_terminal(tmp_path: Path) -> None:
    import orjson

    from tests.builders import interaction

    events = [
        interaction(
            type="ad_click",
            channel="ad",
            at=day(3, 1),
            external_id="ann",
            attribution={
                "source": "google",
                "medium": "cpc",
                "campaign": "espresso-machines-search",
            },
        ),
        interaction(type="purchase", at=day(3, 2), external_id="ann", revenue=1234.5),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    data = tmp_path / "data"
    assert touchpoint("import", str(path), data_dir=data).returncode == 0
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from touchpoint.cli import main; main()",
            "report",
            "attribution",
            "--at",
            "2026-06-01",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "100", "PATH": ""},
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "espresso-machines-search" in run.stdout and "…" not in run.stdout
    header = next(line for line in lines if "first" in line)  # the five models side by side
    assert all(word in header for word in ("first", "last", "linear", "position", "decay"))


def test_a_wide_table_cuts_headers_never_numbers_at_100_columns() -> None:
    from touchpoint.analytics.service_levels import SCHEMA

    row = {
        "channel": "social",
        "queue": "retention",
        "offered": 1004,
        "answered": 720,
        "abandoned": 107,
        "answer_rate": 1.0,
        "service_level": 0.999,
        "target": "24 h",
        "asa_s": 88.0,
        "aht_s": 660.0,
        "fcr_rate": 0.721,
        "response_p50_s": 3600.0,
    }
    result = ReportResult("service-levels", "SL", pa.Table.from_pylist([row] * 3, schema=SCHEMA))
    text = rendered(result, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    for cell in ("social", "retention", "1,004", "107", "100.0%", "99.9%", "88 s", "11.0 min"):
        assert text.count(cell) == 3, cell  # whole, on one line, in each of the three rows
    assert "60.0 min" in text and "72.1%" in text
