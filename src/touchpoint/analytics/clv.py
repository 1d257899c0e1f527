"""Customer lifetime value: historical (net revenue to date) and predictive (BG/NBD purchase
frequency and probability alive + Gamma-Gamma spend, fitted by `lifetimes`).

The RFM summary is one Ibis expression over the log, so it runs on every engine; only the fit and
the predictions are pandas, on one row per purchasing customer. See docs/decisions.md for why
`lifetimes` and not pymc-marketing or btyd.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from touchpoint.analytics.common import breakdown, in_period, naive, public_ids, to_arrow
from touchpoint.analytics.output import detail_field, money
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    import plotly.graph_objects as go

PURCHASE_TYPE = "purchase"
DAY_S = 86_400
EPOCH = date(1970, 1, 1)
HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
MIN_CUSTOMERS = 20  # below this (or MIN_REPEATERS repeat buyers) the fit is noise: no prediction
MIN_REPEATERS = 5
PENALIZERS = (0.0, 0.001, 0.01)  # tried in turn until the fit converges to a usable model
TOP_CUSTOMERS = 10


@contextmanager
def quiet_lifetimes() -> Iterator[None]:
    """lifetimes 0.11.3 imports pkg_resources and uses pandas APIs deprecated in pandas 3; its
    warnings say nothing to a Touchpoint user, so they are silenced around every call into it,
    as are the optimiser's numerical warnings and the report it prints when it fails to converge
    (the failure itself is an exception, handled by the caller)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", module=r"lifetimes(\.|$)")
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# --- RFM summary (Ibis) ------------------------------------------------------------------------


def day_number(column: ir.TimestampColumn) -> ir.IntegerColumn:
    """Days since 1970-01-01 of a naive-UTC timestamp: lifetimes' per-day granularity."""
    return (column.epoch_seconds() / DAY_S).floor().cast("int64")


def rfm_summary(
    transactions: ir.Table,
    *,
    observation_end: date,
    customer: str = "customer_id",
    at: str = "occurred_at",
    amount: str = "revenue",
) -> ir.Table:
    """frequency, recency, T and monetary_value per customer, in days, as
    `lifetimes.utils.summary_data_from_transaction_data` defines them: transactions are summed per
    day (up to and including `observation_end`); frequency = purchase days − 1; recency = last −
    first purchase day; T = observation_end − first purchase day; monetary_value = mean amount of
    the repeat purchase days (0 without repeats)."""
    end_day = (observation_end - EPOCH).days
    days = transactions.select(
        customer_id=transactions[customer],
        day=day_number(transactions[at]),
        amount=transactions[amount].cast("float64"),
    )
    daily = (
        days.filter(days.day <= end_day)
        .group_by(["customer_id", "day"])
        .aggregate(amount=lambda t: t.amount.sum())
    )
    first_day = daily.day.min().over(group_by=daily.customer_id)
    daily = daily.mutate(repeat=daily.day != first_day)
    per = daily.group_by("customer_id").aggregate(
        first=daily.day.min(),
        last=daily.day.max(),
        days=daily.count(),
        repeat_amount=daily.amount.sum(where=daily.repeat),
    )
    frequency = per.days - 1
    return per.select(
        "customer_id",
        frequency=frequency,
        recency=per["last"] - per["first"],
        T=end_day - per["first"],
        monetary_value=(frequency > 0).ifelse(per.repeat_amount / frequency, 0.0),
    )


def purchases(interactions: ir.Table) -> ir.Table:
    """Purchases with money in. Refunds are not purchases: they lower historical CLV only."""
    return interactions.filter((interactions.type == PURCHASE_TYPE) & (interactions.revenue > 0))


def historical_clv(interactions: ir.Table) -> ir.Table:
    """customer_id, net revenue to date (purchases minus refunds and cancellations)."""
    money = interactions.filter(interactions.revenue.notnull())
    return money.group_by("customer_id").aggregate(historical_clv=money.revenue.sum())


# --- Fit and predict (lifetimes) ---------------------------------------------------------------


@dataclass
class CLVModel:
    """The fitted BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend per purchase) models;
    `spend` is None when no Gamma-Gamma fit was usable (then there is no predicted value, but
    P(alive) and the expected purchases still stand)."""

    purchases: Any  # lifetimes.BetaGeoFitter
    spend: Any  # lifetimes.GammaGammaFitter | None
    penalizer: float
    spend_penalizer: float | None = None

    @property
    def params(self) -> dict[str, float]:
        """BG/NBD r, alpha, a, b and Gamma-Gamma gg_p, gg_q, gg_v."""
        out = {str(k): float(v) for k, v in self.purchases.params_.items()}
        if self.spend is not None:
            out |= {f"gg_{k}": float(v) for k, v in self.spend.params_.items()}
        return out


def _check_enough(rfm: pd.DataFrame) -> pd.DataFrame:
    repeaters = rfm[rfm["frequency"] > 0]
    if len(rfm) < MIN_CUSTOMERS or len(repeaters) < MIN_REPEATERS:
        raise ValidationError(
            f"too little purchase history to fit a CLV model ({len(rfm)} buyers, "
            f"{len(repeaters)} repeat buyers; need {MIN_CUSTOMERS} and {MIN_REPEATERS})"
        )
    return repeaters


def fit_purchases(rfm: pd.DataFrame, *, penalizer: float = 0.0) -> Any:
    """BG/NBD on every buyer's frequency, recency and T."""
    with quiet_lifetimes():
        from lifetimes import BetaGeoFitter

        bgf = BetaGeoFitter(penalizer_coef=penalizer)
        bgf.fit(rfm["frequency"], rfm["recency"], rfm["T"])
    return bgf


def fit_spend(repeaters: pd.DataFrame, *, penalizer: float = 0.0) -> Any:
    """Gamma-Gamma on the repeat buyers (the model's assumption)."""
    with quiet_lifetimes():
        from lifetimes import GammaGammaFitter

        ggf = GammaGammaFitter(penalizer_coef=penalizer)
        ggf.fit(repeaters["frequency"], repeaters["monetary_value"])
    return ggf


def fit_clv(rfm: pd.DataFrame, *, penalizer: float = 0.0) -> CLVModel:
    """Fit BG/NBD on everyone and Gamma-Gamma on repeat buyers, with one penalizer."""
    repeaters = _check_enough(rfm)
    return CLVModel(
        fit_purchases(rfm, penalizer=penalizer),
        fit_spend(repeaters, penalizer=penalizer),
        penalizer,
        penalizer,
    )


def predict_clv(
    model: CLVModel,
    rfm: pd.DataFrame,
    *,
    horizon_months: int = HORIZON_MONTHS,
    discount_rate: float = MONTHLY_DISCOUNT,
    unit: str = "D",
) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases and discounted value over the horizon.
    `unit` is the time unit of recency/T ("D" days, "W" weeks), as lifetimes names it."""
    f, r, t = rfm["frequency"], rfm["recency"], rfm["T"]
    per_month = {"D": 30.0, "W": 4.345}[unit]
    with quiet_lifetimes():
        alive = model.purchases.conditional_probability_alive(f, r, t)
        expected = model.purchases.conditional_expected_number_of_purchases_up_to_time(
            horizon_months * per_month, f, r, t
        )
        if model.spend is None:
            spend = value = pd.Series(float("nan"), index=rfm.index)
        else:
            spend = model.spend.conditional_expected_average_profit(f, rfm["monetary_value"])
            value = pd.Series(
                discounted_value(
                    model.purchases,
                    (f, r, t),
                    spend,
                    months=horizon_months,
                    discount_rate=discount_rate,
                    unit=unit,
                ),
                index=rfm.index,
            )
    return pd.DataFrame(
        {
            "p_alive": pd.Series(alive, index=rfm.index).astype(float),
            "expected_purchases": expected.astype(float),
            "expected_order_value": spend.astype(float),
            "predicted_clv": value.astype(float),
        },
        index=rfm.index,
    )


def discounted_value(
    purchases: Any,
    history: tuple[Any, Any, Any],
    order_value: Any,
    *,
    months: int,
    discount_rate: float,
    unit: str,
) -> np.ndarray[Any, Any]:
    """Each customer's predicted CLV: lifetimes' `customer_lifetime_value` (its
    utils._customer_lifetime_value), the same sums in the same order — per month, the expected
    purchases in that month times the expected order value, discounted — on arrays, with each
    month's cumulative expected purchases computed once (lifetimes computes each twice, on pandas
    Series: a third of this report's time). `history` is frequency, recency and T."""
    history_of = [np.asarray(v) for v in history]
    value = np.asarray(order_value)
    factor = {"W": 4.345, "M": 1.0, "D": 30, "H": 30 * 24}[unit]
    total = np.zeros(len(value))
    reached: tuple[Any, Any] = (None, None)  # the last month's end and purchases up to it
    for i in np.arange(1, months + 1) * factor:
        since = i - factor  # the month's start, as lifetimes computes it (exactly the last end?)
        before = reached[1] if reached[0] == since else purchases.predict(since, *history_of)
        upto = purchases.predict(i, *history_of)
        total += (value * (upto - before)) / (1 + discount_rate) ** (i / factor)
        reached = (i, upto)
    return total


# --- The report --------------------------------------------------------------------------------


def observation_end(request: ReportRequest) -> datetime:
    return naive(request.end or request.at)


def customer_clv(
    sources: Sources, request: ReportRequest, *, horizon_months: int = HORIZON_MONTHS
) -> tuple[pd.DataFrame, list[str]]:
    """One row per customer who purchased before the period's end (first purchase in the period
    when it has a start): RFM, historical and predicted CLV, P(alive). Plus notes on the fit."""
    inter = sources.interactions
    until = inter.filter(in_period(inter.occurred_at, _open_start(request)))
    end = observation_end(request)
    last_day = (end - timedelta(microseconds=1)).date()
    rfm_expr = rfm_summary(purchases(until), observation_end=last_day)
    joined = rfm_expr.left_join(historical_clv(until), "customer_id").drop("customer_id_right")
    frame = to_arrow(sources, public_ids(sources, joined)).to_pandas()
    frame = frame.set_index("customer_id").sort_index()
    frame["historical_clv"] = frame["historical_clv"].fillna(0.0)
    if request.start is not None:
        start_day = (naive(request.start).date() - EPOCH).days
        frame = frame[(last_day - EPOCH).days - frame["T"] >= start_day]
    notes: list[str] = []
    prediction_cols = ["p_alive", "expected_purchases", "expected_order_value", "predicted_clv"]
    try:
        model, problems = fitted(frame)
    except ValidationError as exc:
        notes.append(f"no predictive CLV: {exc}")
        return frame.assign(**dict.fromkeys(prediction_cols, float("nan"))), notes
    frame = frame.join(predict_clv(model, frame, horizon_months=horizon_months))
    return frame, [*model_notes(model), *problems]


def model_notes(model: CLVModel) -> list[str]:
    """What was fitted, in a few short lines (each "label: text")."""
    spend = "no spend model" if model.spend is None else f"penalizer {model.spend_penalizer:g}"
    params = model.params
    bg = ", ".join(f"{k}={params[k]:.4g}" for k in ("r", "alpha", "a", "b"))
    gg = ", ".join(f"{k[3:]}={v:.4g}" for k, v in params.items() if k.startswith("gg_"))
    notes = [
        f"BG/NBD + Gamma-Gamma (lifetimes), in days: purchases penalizer {model.penalizer:g}, "
        f"spend {spend}",
        f"parameters: BG/NBD {bg}" + (f"; Gamma-Gamma {gg}" if gg else ""),
        P_ALIVE_NOTE,
    ]
    if params["a"] < NO_DROPOUT_A:
        notes.append(
            "drop-out: the purchases so far show none (BG/NBD a ≈ 0), so the model holds "
            "every buyer alive"
        )
    return notes


P_ALIVE_NOTE = (
    "P(alive): the chance a buyer still buys, read from the rhythm of their purchases alone, "
    "not from their lifecycle stage (which also counts surveys, complaints and all other "
    "activity); a one-time buyer is alive by the model's construction, so p_alive_repeat is "
    "over repeat buyers"
)
NO_DROPOUT_A = 1e-6


FIT_COLUMNS = ("frequency", "recency", "T", "monetary_value")  # all that fit_first_usable reads
_FITS_KEPT = 8  # fits remembered: a few pages' periods and breakdowns
_fits: OrderedDict[bytes, tuple[CLVModel, list[str]]] = OrderedDict()
_fits_lock = threading.Lock()


def fitted(rfm: pd.DataFrame) -> tuple[CLVModel, list[str]]:
    """fit_first_usable's models, remembered by the figures they are fitted on: the same
    frequency, recency, T and spend of the same customers in the same order fit the same models
    (the optimiser is deterministic), so a page shown again on data that has not changed does
    not refit (about two thirds of the CLV page's time); any changed figure is a new fit. The
    models are only read once fitted, so threads share them."""
    values = np.ascontiguousarray(rfm.loc[:, list(FIT_COLUMNS)].to_numpy(dtype=np.float64))
    key = hashlib.blake2b(values.tobytes(), digest_size=20).digest() + repr(values.shape).encode()
    with _fits_lock:
        found = _fits.get(key)
        if found is not None:
            _fits.move_to_end(key)
            return found[0], list(found[1])
    made = fit_first_usable(rfm)
    with _fits_lock:
        _fits[key] = made
        while len(_fits) > _FITS_KEPT:
            _fits.popitem(last=False)
    return made[0], list(made[1])


def fit_first_usable(rfm: pd.DataFrame) -> tuple[CLVModel, list[str]]:
    """Each model at the least penalty that converges: BG/NBD (required) and Gamma-Gamma with a
    finite mean spend (q > 1; without it there is no predicted value, said in a note)."""
    repeaters = _check_enough(rfm)
    purchases, penalizer, problem = _least_penalised(lambda pen: fit_purchases(rfm, penalizer=pen))
    if purchases is None:
        raise ValidationError(f"the purchase model (BG/NBD) {problem}")
    spend, spend_penalizer, spend_problem = _least_penalised(
        lambda pen: fit_spend(repeaters, penalizer=pen), usable=lambda m: m.params_["q"] > 1
    )
    problems = [] if spend is not None else [f"no predicted value: the spend model {spend_problem}"]
    return CLVModel(purchases, spend, penalizer, spend_penalizer), problems


def _least_penalised(fit: Any, usable: Any = lambda model: True) -> tuple[Any, float, str]:
    problem = ""
    for penalizer in PENALIZERS:
        try:
            model = fit(penalizer)
        except Exception as exc:  # lifetimes' ConvergenceError and numerical failures
            problem = f"did not converge on these purchases ({type(exc).__name__})"
            continue
        if usable(model):
            return model, penalizer, ""
        problem = "has no finite mean (Gamma-Gamma q <= 1)"
    return None, PENALIZERS[-1], problem


def _open_start(request: ReportRequest) -> ReportRequest:
    """History before the period counts for RFM: only the end bounds what is read."""
    return dataclasses.replace(request, start=None, by=None)


SUMMARY_SCHEMA = pa.schema(
    [
        ("group", pa.string()),
        ("customers", pa.int64()),
        ("repeat_customers", pa.int64()),
        ("mean_historical_clv", pa.float64()),
        ("mean_predicted_clv_12m", pa.float64()),
        detail_field("mean_p_alive", pa.float64()),
        ("mean_p_alive_repeat", pa.float64()),
        ("mean_expected_purchases_12m", pa.float64()),
        detail_field("total_historical_clv", pa.float64()),
        detail_field("total_predicted_clv_12m", pa.float64()),
    ]
)


def _summarise(group: str, rows: pd.DataFrame) -> dict[str, Any]:
    def mean(col: str, of: pd.DataFrame = rows) -> float | None:
        value = of[col].mean()
        return None if pd.isna(value) else float(value)

    def total(col: str) -> float | None:
        return None if rows[col].isna().all() else float(rows[col].sum())

    return {
        "group": group,
        "customers": len(rows),
        "repeat_customers": int((rows["frequency"] > 0).sum()),
        "mean_historical_clv": mean("historical_clv"),
        "mean_predicted_clv_12m": mean("predicted_clv"),
        "mean_p_alive": mean("p_alive"),
        "mean_p_alive_repeat": mean("p_alive", rows[rows["frequency"] > 0]),
        "mean_expected_purchases_12m": mean("expected_purchases"),
        "total_historical_clv": total("historical_clv"),
        "total_predicted_clv_12m": total("predicted_clv"),
    }


def run_clv(sources: Sources, request: ReportRequest) -> ReportResult:
    frame, notes = customer_clv(sources, request)
    rows = [_summarise("all", frame)]
    keys = breakdown(sources, request.by)
    if keys is not None and len(frame):
        key_frame = to_arrow(sources, public_ids(sources, keys)).to_pandas()
        key_frame = key_frame.set_index("customer_id")["key"]
        grouped = frame.join(key_frame).fillna({"key": "(none)"})
        rows += [_summarise(str(k), g) for k, g in sorted(grouped.groupby("key"))]
    order = frame.assign(_value=frame["predicted_clv"].fillna(frame["historical_clv"]))
    top = order.sort_values(["_value", "historical_clv"], ascending=False).head(TOP_CUSTOMERS)
    notes += [top_customer_note(i, cid, row) for i, (cid, row) in enumerate(top.iterrows(), 1)]
    table = pa.Table.from_pylist(rows, schema=SUMMARY_SCHEMA)
    return ReportResult("clv", "Customer lifetime value", table, notes)


def top_customer_note(rank: int, customer_id: Any, row: Any) -> str:
    """One short line per top customer; what the model could not predict reads "-"."""
    predicted = money(row.predicted_clv)
    alive = "-" if pd.isna(row.p_alive) else f"{row.p_alive:.0%}"
    return (
        f"top {rank} {customer_id}: historical {money(row.historical_clv)}, predicted 12m "
        f"{predicted}, P(alive) {alive}, {int(row.frequency) + 1} purchase days"
    )


def plot_clv(result: ReportResult) -> go.Figure:
    """Mean historical and predicted CLV per group (bars) and mean P(alive) (markers, right axis)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = result.table.to_pylist()
    groups = [r["group"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(name="historical CLV", x=groups, y=[r["mean_historical_clv"] for r in rows])
    )
    fig.add_trace(
        go.Bar(
            name="predicted CLV, next 12 months",
            x=groups,
            y=[r["mean_predicted_clv_12m"] for r in rows],
        )
    )
    fig.add_trace(
        go.Scatter(
            name="P(alive), repeat buyers",
            x=groups,
            y=[r["mean_p_alive_repeat"] for r in rows],
            mode="markers",
        ),
        secondary_y=True,
    )
    fig.update_layout(title=result.title, barmode="group", xaxis_title="group")
    fig.update_yaxes(title_text="mean per customer", secondary_y=False)
    fig.update_yaxes(title_text="mean P(alive)", range=[0, 1.05], secondary_y=True)
    return fig


register(
    ReportSpec(
        name="clv",
        title="Customer lifetime value",
        description="Historical CLV (net revenue to date) and predicted CLV over 12 months with "
        "BG/NBD + Gamma-Gamma (lifetimes): customers, mean CLV, mean P(alive); top customers.",
        run=run_clv,
        plot=plot_clv,
    )
)

__all__ = [
    "CLVModel",
    "customer_clv",
    "fit_clv",
    "historical_clv",
    "predict_clv",
    "purchases",
    "rfm_summary",
    "run_clv",
]
