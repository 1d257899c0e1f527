"""Campaign spend: import from CSV into `campaign_spend`, and the CAC/ROI report built on it.

The CSV has a header row; columns date (YYYY-MM-DD), campaign and amount are required, source,
medium, channel and currency optional. Each bad line is reported by number and skipped; good lines
are stored. The key is (date, campaign, source, medium): importing a file again replaces its rows.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import Engine

from touchpoint.analytics.common import (
    first_per_customer,
    first_touch_channel,
    in_period,
    naive,
    public_ids,
    reach_channel,
    to_arrow,
)
from touchpoint.analytics.reports import ReportRequest, ReportResult, ReportSpec, Sources, register
from touchpoint.domain.reach import DIRECT as DIRECT_CHANNEL
from touchpoint.domain.vocabulary import CHANNELS
from touchpoint.errors import ValidationError
from touchpoint.store import spend as spend_store

if TYPE_CHECKING:
    import plotly.graph_objects as go

REQUIRED = ("date", "campaign", "amount")
OPTIONAL = ("source", "medium", "channel", "currency")
DEFAULT_CURRENCY = "USD"
MEDIUM_CHANNELS = {"email": "email", "newsletter": "email", "social": "social", "sms": "sms"}
DEFAULT_CHANNEL = "ad"  # cpc, display, paid social and the like are bought ad placements


SpendKey = tuple[date, str, str, str]  # (date, campaign, source, medium): one stored row


@dataclass(frozen=True, slots=True)
class SpendRow:
    date: date
    campaign: str
    source: str
    medium: str
    channel: str
    amount: float
    currency: str

    @property
    def key(self) -> SpendKey:
        return (self.date, self.campaign, self.source, self.medium)


@dataclass(slots=True)
class SpendImportReport:
    """What an import did: rows stored (of which `replaced` existed before) and bad lines."""

    stored: int = 0
    replaced: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.stored + len(self.rejected)


# --- Parsing and validation --------------------------------------------------------------------


def parse_spend_csv(text: str) -> tuple[list[SpendRow], list[tuple[int, str]]]:
    """Good rows and (line number, reason) for each bad line; line 1 is the header."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValidationError(f"spend CSV: missing column(s) {', '.join(missing)} in the header")
    reader.fieldnames = header
    rows: list[SpendRow] = []
    errors: list[tuple[int, str]] = []
    seen: dict[SpendKey, int] = {}
    for line, raw in enumerate(reader, start=2):
        try:
            row = spend_row(raw)
        except ValidationError as exc:
            errors.append((line, str(exc)))
            continue
        if row.key in seen:
            errors.append((line, f"same date, campaign, source and medium as line {seen[row.key]}"))
            continue
        seen[row.key] = line
        rows.append(row)
    return rows, errors


def spend_row(raw: dict[str, Any]) -> SpendRow:
    """One validated row; the message names the offending field."""
    value = {k: (raw.get(k) or "").strip() for k in (*REQUIRED, *OPTIONAL)}
    if None in raw:
        raise ValidationError("more fields than the header has")
    try:
        day = date.fromisoformat(value["date"])
    except ValueError:
        raise ValidationError(f"date {value['date']!r} is not YYYY-MM-DD") from None
    if not value["campaign"]:
        raise ValidationError("campaign is empty")
    amount = _amount(value["amount"])
    currency = (value["currency"] or DEFAULT_CURRENCY).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError(f"currency {value['currency']!r} is not a 3-letter ISO code")
    channel = value["channel"].lower() or channel_for_medium(value["medium"])
    if channel not in CHANNELS:
        raise ValidationError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    return SpendRow(
        day, value["campaign"], value["source"], value["medium"], channel, amount, currency
    )


def _amount(text: str) -> float:
    try:
        amount = float(text.replace(",", "")) if text else math.nan
    except ValueError:
        raise ValidationError(f"amount {text!r} is not a number") from None
    if not math.isfinite(amount) or amount < 0:
        raise ValidationError(f"amount {text!r} must be a number ≥ 0")
    return amount


def channel_for_medium(medium: str) -> str:
    return MEDIUM_CHANNELS.get(medium.lower(), DEFAULT_CHANNEL)


# --- Storing -----------------------------------------------------------------------------------


def store_spend(engine: Engine, rows: list[SpendRow]) -> tuple[int, int]:
    """Replace the rows' keys with the rows, in one transaction; returns (stored, replaced)."""
    replaced = spend_store.replace_spend(
        engine, [dataclasses.asdict(r) for r in rows], imported_at=datetime.now(UTC)
    )
    return len(rows), replaced


def import_spend(engine: Engine, path: Path) -> SpendImportReport:
    """Import a spend CSV: good lines stored (replacing their keys), bad lines reported."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path} is not UTF-8 text") from None
    rows, errors = parse_spend_csv(text)
    stored, replaced = store_spend(engine, rows)
    return SpendImportReport(stored=stored, replaced=replaced, rejected=errors)


# --- CAC and ROI (Ibis) ------------------------------------------------------------------------

ACQUISITION_TYPES = ("signup", "lead_form", "purchase")
NO_CAMPAIGN = "(no campaign)"


def spend_in_period(spend: ir.Table, request: ReportRequest) -> ir.Table:
    """Spend per campaign for the days of the period, with the campaign's channel."""
    end = naive(request.end or request.at)
    cond = spend.date < ibis.literal(end.date()) if request.end else spend.date <= end.date()
    if request.start is not None:
        cond &= spend.date >= ibis.literal(naive(request.start).date())
    rows = spend.filter(cond)
    return rows.group_by("campaign").aggregate(
        spend=rows.amount.sum(),
        channel=rows.channel.max(),
        reach_channel=reach_channel(rows.medium.max()),
        currencies=rows.currency.nunique(),
    )


def first_campaign(interactions: ir.Table) -> ir.Table:
    """customer_id -> the campaign of their first campaign-tagged inbound touch, and when (the
    same touches attribution uses, without its sessions: only the first one matters here)."""
    t = interactions
    tagged = t.filter((t.direction == "inbound") & t.campaign.notnull())
    first = first_per_customer(tagged, "occurred_at", "seq")
    return first.select("customer_id", "campaign", touched_at=first.occurred_at)


def first_time(interactions: ir.Table, types: Iterable[str], name: str) -> ir.Table:
    rows = interactions.filter(interactions.type.isin(list(types)))
    return rows.group_by("customer_id").aggregate(**{name: rows.occurred_at.min()})


def acquisitions(interactions: ir.Table, request: ReportRequest) -> ir.Table:
    """Customers acquired (first signup, lead form or purchase) in the period: their first-touch
    campaign (a touch at or before the acquisition), whether and when they first bought, and
    their net revenue up to the period's end."""
    acquired = first_time(interactions, ACQUISITION_TYPES, "acquired_at")
    acquired = acquired.filter(in_period(acquired.acquired_at, request))
    bought = first_time(interactions, ["purchase"], "converted_at")
    money = interactions.filter(in_period(interactions.occurred_at, _until(request)))
    revenue = money.group_by("customer_id").aggregate(revenue=money.revenue.sum())
    firsts = first_campaign(interactions)
    j = acquired.left_join(firsts, "customer_id").drop("customer_id_right")
    j = j.left_join(bought, "customer_id").drop("customer_id_right")
    j = j.left_join(revenue, "customer_id").drop("customer_id_right")
    credited = j.campaign.notnull() & (j.touched_at <= j.acquired_at)
    converted = j.converted_at.notnull() & in_period(j.converted_at, request)
    return j.select(
        "customer_id",
        campaign=credited.ifelse(j.campaign, NO_CAMPAIGN),
        converted=converted,
        revenue=j.revenue.fill_null(0.0),
    )


def _until(request: ReportRequest) -> ReportRequest:
    return dataclasses.replace(request, start=None, by=None)


def cac_by_campaign(sources: Sources, request: ReportRequest) -> list[dict[str, Any]]:
    """Per campaign: spend, customers acquired and converted, CAC, revenue, ROI, CLV:CAC."""
    acq = acquisitions(sources.interactions, request)
    rows = to_arrow(sources, public_ids(sources, acq)).to_pylist()
    clv = _clv_by_customer(sources, request)
    spend = {}
    if sources.spend is not None:
        spend = {
            r["campaign"]: r
            for r in to_arrow(sources, spend_in_period(sources.spend, request)).to_pylist()
        }
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = out.setdefault(r["campaign"], _empty(r["campaign"]))
        entry["acquired"] += 1
        entry["revenue"] += r["revenue"]
        if r["converted"]:
            entry["converted"] += 1
            entry["_clv"].append(clv.get(r["customer_id"], r["revenue"]))
    for name, s in spend.items():
        entry = out.setdefault(name, _empty(name))
        entry["spend"], entry["channel"] = float(s["spend"]), s["channel"]
    return list(out.values())


def cac_by_channel(sources: Sources, request: ReportRequest) -> list[dict[str, Any]]:
    """Per reach channel (analytics.common.reach_channel): the customers acquired whose first
    touch came through it, and the spend of the campaigns whose medium is in it."""
    acq = acquisitions(sources.interactions, request)
    # Two queries joined here: one is deeper than SQLite's parser takes.
    firsts = to_arrow(sources, public_ids(sources, first_touch_channel(sources))).to_pylist()
    channel_of = {r["customer_id"]: r["key"] for r in firsts}
    rows = to_arrow(sources, public_ids(sources, acq)).to_pylist()
    clv = _clv_by_customer(sources, request)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        channel = channel_of.get(r["customer_id"]) or DIRECT_CHANNEL
        entry = out.setdefault(channel, _empty("", channel))
        entry["acquired"] += 1
        entry["revenue"] += r["revenue"]
        if r["converted"]:
            entry["converted"] += 1
            entry["_clv"].append(clv.get(r["customer_id"], r["revenue"]))
    if sources.spend is not None:
        for s in to_arrow(sources, spend_in_period(sources.spend, request)).to_pylist():
            entry = out.setdefault(s["reach_channel"], _empty("", s["reach_channel"]))
            entry["spend"] += float(s["spend"])
    return list(out.values())


def _empty(campaign: str, channel: str = "(no spend)") -> dict[str, Any]:
    return {
        "campaign": campaign,
        "channel": channel,
        "spend": 0.0,
        "acquired": 0,
        "converted": 0,
        "revenue": 0.0,
        "_clv": [],
    }


def _clv_by_customer(sources: Sources, request: ReportRequest) -> dict[str, float]:
    """Historical + predicted 12-month value per customer (historical alone without a fit)."""
    from touchpoint.analytics.clv import customer_clv

    frame, _notes = customer_clv(sources, _until(request))
    value = frame["historical_clv"] + frame["predicted_clv"].fillna(0.0)
    return {str(k): float(v) for k, v in value.items()}


def finish(entry: dict[str, Any]) -> dict[str, Any]:
    spend, acquired, converted = entry["spend"], entry["acquired"], entry["converted"]
    values = entry.pop("_clv")
    mean_clv = sum(values) / len(values) if values else None
    cac_converted = spend / converted if converted and spend else None
    return entry | {
        "cac_acquired": spend / acquired if acquired and spend else None,
        "cac_converted": cac_converted,
        "roi": (entry["revenue"] - spend) / spend if spend else None,
        "mean_clv": mean_clv,
        "clv_to_cac": mean_clv / cac_converted if mean_clv is not None and cac_converted else None,
    }


CAC_FIELDS = [
    ("spend", pa.float64()),
    ("acquired", pa.int64()),
    ("converted", pa.int64()),
    ("cac_acquired", pa.float64()),
    ("cac_converted", pa.float64()),
    ("revenue", pa.float64()),
    ("roi", pa.float64()),
    ("mean_clv", pa.float64()),
    ("clv_to_cac", pa.float64()),
]


def run_cac(sources: Sources, request: ReportRequest) -> ReportResult:
    by = request.by or "campaign"
    if by not in ("campaign", "channel"):
        raise ValidationError(f"cac by {by!r}? Use campaign or channel")
    if by == "channel":
        entries = cac_by_channel(sources, request)
    else:
        entries = cac_by_campaign(sources, request)
    rows = [{by: e[by]} | {k: finish(dict(e))[k] for k, _ in CAC_FIELDS} for e in entries]
    rows.sort(key=lambda r: (-r["spend"], -r["acquired"], r[by]))
    credit = (
        "to the reach channel of the customer's first touch (Direct without one); spend to the "
        "channel of its campaign's medium"
        if by == "channel"
        else "to the campaign of the customer's first campaign touch"
    )
    notes = [
        f"acquired = first signup, lead form or purchase in the period, credited {credit}; "
        "converted = first purchase in the period",
        "ROI = (net revenue of the acquired customers to date − spend) / spend; CLV = historical "
        "+ predicted 12 months (BG/NBD + Gamma-Gamma)",
    ]
    if sources.spend is None:
        notes.append("no campaign spend imported yet: touchpoint spend import FILE.csv")
    schema = pa.schema([(by, pa.string()), *CAC_FIELDS])
    return ReportResult(
        "cac", "Acquisition cost and ROI", pa.Table.from_pylist(rows, schema=schema), notes
    )


def plot_cac(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    table = result.table
    label = table.column_names[0]
    names = [str(v) for v in table.column(label).to_pylist()]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(name="CAC (converted)", x=names, y=table.column("cac_converted").to_pylist())
    )
    fig.add_trace(go.Bar(name="mean CLV", x=names, y=table.column("mean_clv").to_pylist()))
    fig.add_trace(
        go.Scatter(name="ROI", x=names, y=table.column("roi").to_pylist(), mode="markers"),
        secondary_y=True,
    )
    fig.update_layout(title=result.title, barmode="group", xaxis_title=label)
    fig.update_yaxes(title_text="per customer", secondary_y=False)
    fig.update_yaxes(title_text="ROI", secondary_y=True)
    return fig


register(
    ReportSpec(
        name="cac",
        title="Acquisition cost and ROI",
        description="Per campaign or channel: imported spend, customers acquired and converted, "
        "cost per acquired and per converted customer, ROI and CLV:CAC.",
        run=run_cac,
        plot=plot_cac,
    )
)
