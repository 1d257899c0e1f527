"""CLV: the RFM summary against lifetimes' CDNOW summary, the fitted parameters against Fader,
Hardie & Lee (2005), a hand-computed RFM, and the report on every engine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from tests.analytics.conftest import Lab, day
from tests.builders import interaction
from touchpoint.analytics import clv
from touchpoint.analytics.clv import (
    customer_clv,
    fit_clv,
    predict_clv,
    quiet_lifetimes,
    rfm_summary,
)
from touchpoint.analytics.service import make_request, report_spec
from touchpoint.analytics.sources import open_sources
from touchpoint.demo.generator import generate_interactions
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

CDNOW_END = date(1997, 9, 30)  # end of the calibration period of the published fit

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2),
# BG/NBD on CDNOW weeks; and Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4), Gamma-Gamma.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def _cdnow_dir() -> Path:
    with quiet_lifetimes():
        import lifetimes.datasets

    return Path(lifetimes.datasets.__file__).parent


@pytest.fixture(scope="module")
def cdnow_transactions() -> ibis.Table:
    """CDNOW_sample.txt: the 1/10 sample of the CDNOW cohort (2,357 customers, 6,919
    transactions) that the published fits and lifetimes' summary use; 2nd column = their id."""
    raw = pd.read_csv(
        _cdnow_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollar_value"],
        dtype={"date": str},
    )
    table = pa.table(
        {
            "customer_id": raw["customer_id"].astype(int),
            "occurred_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "revenue": raw["dollar_value"].astype(float),
        }
    )
    con = ibis.duckdb.connect()
    con.con.register("cdnow", table)
    return con.table("cdnow")


@pytest.fixture(scope="module")
def cdnow_rfm_weeks(cdnow_transactions: ibis.Table) -> pd.DataFrame:
    """Our RFM summary of the calibration period, in weeks like the published data."""
    rfm = rfm_summary(cdnow_transactions, observation_end=CDNOW_END).to_pyarrow().to_pandas()
    rfm = rfm.set_index("customer_id").sort_index()
    rfm["recency"] /= 7
    rfm["T"] /= 7
    return rfm


def test_rfm_summary_reproduces_lifetimes_cdnow_summary(cdnow_rfm_weeks: pd.DataFrame) -> None:
    with quiet_lifetimes():
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

        published = load_cdnow_summary_data_with_monetary_value().sort_index()
    assert len(cdnow_rfm_weeks) == len(published) == 2357
    assert (cdnow_rfm_weeks.index == published.index).all()
    assert (cdnow_rfm_weeks["frequency"] == published["frequency"]).all()
    # The shipped file rounds weeks and dollars to 2 decimals.
    for col in ("recency", "T", "monetary_value"):
        assert (cdnow_rfm_weeks[col] - published[col]).abs().max() <= 0.005 + 1e-9, col


def test_fit_on_our_cdnow_rfm_gives_the_published_parameters(
    cdnow_rfm_weeks: pd.DataFrame,
) -> None:
    model = fit_clv(cdnow_rfm_weeks)
    fitted = model.params
    for name, published in PUBLISHED_BGNBD.items():
        assert fitted[name] == pytest.approx(published, rel=2e-3), name
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert fitted[f"gg_{name}"] == pytest.approx(published, rel=2e-3), name


def test_predictions_on_cdnow_are_sane(cdnow_rfm_weeks: pd.DataFrame) -> None:
    model = fit_clv(cdnow_rfm_weeks)
    predicted = predict_clv(model, cdnow_rfm_weeks, unit="W")
    assert predicted["p_alive"].between(0, 1).all()
    # One-time buyers who bought long ago are less likely alive than frequent recent buyers.
    never_again = cdnow_rfm_weeks["frequency"] == 0
    assert predicted.loc[never_again, "p_alive"].eq(1).all()  # BG/NBD: no repeat, no dropout
    assert (predicted["predicted_clv"] >= 0).all()
    best = cdnow_rfm_weeks["frequency"].idxmax()
    assert predicted.loc[best, "predicted_clv"] > predicted["predicted_clv"].median()
    # Customer 1 of the lifetimes docs: 2 repeat weeks, recency 30.43, T 38.86.
    assert predicted.loc[1, "p_alive"] == pytest.approx(0.7266, abs=1e-3)


@pytest.mark.parametrize("unit", ["W", "D"])
def test_predicted_value_is_exactly_lifetimes_own(cdnow_rfm_weeks: pd.DataFrame, unit: str) -> None:
    """predict_clv sums the months itself (each month's expected purchases once, on arrays):
    the very figures lifetimes' customer_lifetime_value gives, bit for bit."""
    model = fit_clv(cdnow_rfm_weeks)
    rfm = cdnow_rfm_weeks
    with quiet_lifetimes():
        theirs = model.spend.customer_lifetime_value(
            model.purchases,
            rfm["frequency"],
            rfm["recency"],
            rfm["T"],
            rfm["monetary_value"],
            time=12,
            discount_rate=0.01,
            freq=unit,
        )
    ours = predict_clv(model, rfm, horizon_months=12, discount_rate=0.01, unit=unit)
    assert ours["predicted_clv"].to_list() == theirs.astype(float).to_list()
    assert (ours["predicted_clv"] > 0).sum() > 100  # real values compared, not zeros


def test_rfm_summary_by_hand_on_a_tiny_history() -> None:
    """Ann buys on days 0 (twice: 10 + 5), 3 (20) and 10 (30); Bob once on day 2 (7);
    observation ends on day 14. Cid's purchase on day 15 is after the end.

    Ann: purchase days {0, 3, 10} → frequency 3 − 1 = 2; recency 10 − 0 = 10; T = 14 − 0 = 14;
         monetary = mean of the repeat days (20 + 30) / 2 = 25 (day 0's 15 is the first purchase).
    Bob: frequency 0, recency 0, T = 14 − 2 = 12, monetary 0.
    """
    d0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    rows = [
        ("ann", d0, 10.0),
        ("ann", d0 + timedelta(hours=5), 5.0),
        ("ann", d0 + timedelta(days=3, hours=14), 20.0),
        ("ann", d0 + timedelta(days=10), 30.0),
        ("bob", d0 + timedelta(days=2, hours=14), 7.0),
        ("cid", d0 + timedelta(days=15), 9.0),
    ]
    names = ["customer_id", "occurred_at", "revenue"]
    table = ibis.memtable(pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows]))
    got = (
        rfm_summary(table, observation_end=date(2026, 3, 15))
        .to_pyarrow()
        .to_pandas()
        .set_index("customer_id")
        .sort_index()
    )
    assert got.to_dict("index") == {
        "ann": {"frequency": 2, "recency": 10, "T": 14, "monetary_value": 25.0},
        "bob": {"frequency": 0, "recency": 0, "T": 12, "monetary_value": 0.0},
    }


# --- The report, on every engine -----------------------------------------------------------


def _buy(who: str, at: datetime, revenue: float, type: str = "purchase") -> dict[str, Any]:
    return interaction(type=type, at=at, external_id=who, revenue=revenue)


def test_clv_report_historical_by_hand_without_enough_buyers_to_fit(lab: Lab) -> None:
    """ann: 100 + 50 − 20 refund = 130 over 2 purchase days; bob: 30; cid never buys (not a
    buyer, so not in CLV). Two buyers are far too few for BG/NBD: no prediction, and a note."""
    lab.ingest(
        [
            _buy("ann", day(1, 10), 100.0),
            _buy("ann", day(2, 15), 50.0),
            _buy("ann", day(2, 20), -20.0, type="refund"),
            _buy("bob", day(1, 20), 30.0),
            interaction(type="signup", at=day(1, 2), external_id="cid"),
        ]
    )
    result = lab.run("clv", end=day(4, 1))
    (overall,) = result.table.to_pylist()
    assert overall["group"] == "all"
    assert (overall["customers"], overall["repeat_customers"]) == (2, 1)
    assert overall["mean_historical_clv"] == pytest.approx((130 + 30) / 2)
    assert overall["total_historical_clv"] == pytest.approx(160.0)
    assert overall["mean_predicted_clv_12m"] is None
    assert any("no predictive CLV" in note for note in result.notes)


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("clv-demo"))
    tp = open_touchpoint(settings)
    tp.ingestor.ingest(
        enumerate(generate_interactions(250, seed=3, end=datetime(2026, 11, 1, tzinfo=UTC))),
        keep_results=False,
    )
    tp.close()
    return settings


def test_clv_report_on_demo_data_fits_and_breaks_down_by_channel(demo_settings: Settings) -> None:
    spec = report_spec("clv")
    request = make_request(spec, by="channel", at=datetime(2026, 11, 1, tzinfo=UTC))
    with open_sources(demo_settings, "duckdb") as sources:
        result = spec.run(sources, request)
        frame, _notes = customer_clv(sources, request)
    rows = {r["group"]: r for r in result.table.to_pylist()}
    overall = rows.pop("all")
    assert overall["customers"] == len(frame) == sum(r["customers"] for r in rows.values())
    assert overall["mean_predicted_clv_12m"] > 0
    assert 0 < overall["mean_p_alive"] <= 1
    assert any(note.startswith("BG/NBD + Gamma-Gamma") for note in result.notes)
    # Historical CLV is net revenue to date: an independent sum over the log agrees.
    assert overall["total_historical_clv"] == pytest.approx(frame["historical_clv"].sum())
    assert spec.plot(result).data  # a figure with traces


def test_a_fit_is_remembered_for_the_same_figures_and_redone_for_changed_ones(
    cdnow_rfm_weeks: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLV page shown again on unchanged data does not refit; one changed figure refits,
    and what is returned is always the fit of the figures given (lifetimes' own, fitted here)."""
    fits: list[int] = []
    real_fit = clv.fit_first_usable

    def counted(rfm: pd.DataFrame) -> tuple[clv.CLVModel, list[str]]:
        fits.append(len(rfm))
        return real_fit(rfm)

    monkeypatch.setattr(clv, "fit_first_usable", counted)
    first, _ = clv.fitted(cdnow_rfm_weeks)
    again, _ = clv.fitted(cdnow_rfm_weeks.copy())  # equal figures, another frame
    assert len(fits) == 1 and again is first
    changed = cdnow_rfm_weeks.copy()
    best = changed["frequency"].idxmax()
    changed.loc[best, "monetary_value"] *= 50  # one repeat buyer spent far more
    refit, _ = clv.fitted(changed)
    assert len(fits) == 2
    fresh = real_fit(changed)[0]
    assert refit.params == fresh.params != first.params
