"""Multi-touch attribution: conversions and their revenue credited to the reach touchpoints that
preceded them, by five models side by side (first touch, last touch, linear, position-based
40/20/40, time decay), grouped by campaign, channel, source, medium, keyword or creative (utm_content, or the social
post a referrer names).

Everything is Ibis (joins and window functions), so DuckDB, SQLite and PostgreSQL give the same
numbers. A conversion with no touch before it is credited to "(direct)", so every model hands out
exactly one conversion per conversion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from touchpoint.analytics.common import in_period, naive, reach_channel, to_arrow
from touchpoint.analytics.output import detail_field
from touchpoint.analytics.reports import (
    ReportRequest,
    ReportResult,
    ReportSpec,
    Sources,
    register,
)
from touchpoint.domain.reach import CHANNEL_GROUPS
from touchpoint.domain.reach import DIRECT as DIRECT_CHANNEL
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    import plotly.graph_objects as go

MODELS = ("first_touch", "last_touch", "linear", "position", "time_decay")
DIMENSIONS = ("campaign", "channel", "source", "medium", "keyword", "creative")
DIRECT = "(direct)"
NONE_LABEL = "(none)"
HALF_LIFE_DAYS = 7.0
SESSION_S = 30 * 60  # a repeat of the same source/medium/campaign within this is the same touch
DAY_S = 86_400.0
BEFORE_ANY_TOUCH = ibis.literal(
    naive(datetime(1, 1, 1, tzinfo=UTC)), type="timestamp"
)  # no previous conversion
CONVERSION_TYPE = "purchase"


def touches(interactions: ir.Table) -> ir.Table:
    """The reach touchpoints: inbound interactions carrying attribution (an ad click, a tagged
    page view or email click, a referral), social engagement, and "how did you hear about us"
    answers (source = the answer, medium "survey"). Outbound exposures (impressions, sends) are
    not touches. A repeat of the same source/medium/campaign within 30 minutes (the ad click and
    its landing page) is one touch."""
    t = interactions
    tagged = t.source.notnull() | t.medium.notnull() | t.campaign.notnull()
    survey = t.heard_about.notnull()
    social = t.type == "social_engagement"
    picked = t.filter((t.direction == "inbound") & (tagged | survey | social))
    p = picked
    touch = p.select(
        "customer_id",
        "seq",
        at=p.occurred_at,
        channel=p.channel,
        source=survey_or(p, p.heard_about, social_or(p, p.channel, p.source)),
        medium=survey_or(
            p, ibis.literal("survey"), social_or(p, ibis.literal("engagement"), p.medium)
        ),
        campaign=survey_or(p, ibis.null("string"), p.campaign),
        keyword=survey_or(p, ibis.null("string"), p.keyword),
        creative=survey_or(p, ibis.null("string"), p.creative),  # utm_content, a social post
    )
    return _sessionise(touch)


def touch_channel(medium: ir.StringValue) -> ir.StringValue:
    """A touch's reach channel (analytics.common.reach_channel); a survey answer is its own
    channel, untagged social engagement is organic social."""
    return ibis.cases(
        (medium == "survey", "Survey"),
        (medium == "engagement", CHANNEL_GROUPS["social"]),
        else_=reach_channel(medium),
    )


def survey_or(t: ir.Table, answer: ir.Value, otherwise: ir.Value) -> ir.Value:
    return t.heard_about.notnull().ifelse(answer, otherwise)


def social_or(t: ir.Table, social: ir.Value, tagged: ir.Value) -> ir.Value:
    """Social engagement without UTM tags: source = its channel ("social"), medium "engagement"."""
    untagged = (t.type == "social_engagement") & t.source.isnull()
    return untagged.ifelse(social, tagged)


def _sessionise(touch: ir.Table) -> ir.Table:
    window = ibis.window(group_by=touch.customer_id, order_by=[touch.at, touch.seq])
    label = (
        touch.source.fill_null("") + "|" + touch.medium.fill_null("") + "|"
    ) + touch.campaign.fill_null("")
    marked = touch.mutate(
        _label=label,
        _prev_label=label.lag().over(window),
        _prev_s=touch.at.epoch_seconds().lag().over(window),
    )
    repeat = (marked._label == marked._prev_label) & (
        marked.at.epoch_seconds() - marked._prev_s <= SESSION_S
    )
    return marked.filter(~repeat.fill_null(False)).drop("_label", "_prev_label", "_prev_s")


def conversions(
    interactions: ir.Table, request: ReportRequest, *, every_purchase: bool = False
) -> ir.Table:
    """customer_id, conversion seq/time/revenue, and the previous conversion's time (touches
    before it belong to that one). Conversion = first purchase, or every purchase."""
    bought = interactions.filter(interactions.type == CONVERSION_TYPE)
    window = ibis.window(group_by=bought.customer_id, order_by=[bought.occurred_at, bought.seq])
    ranked = bought.mutate(
        _rank=ibis.row_number().over(window), _prev_at=bought.occurred_at.lag().over(window)
    )
    if not every_purchase:
        ranked = ranked.filter(ranked._rank == 0)
    ranked = ranked.filter(in_period(ranked.occurred_at, request))
    return ranked.select(
        "customer_id",
        conversion_seq=ranked.seq,
        conversion_at=ranked.occurred_at,
        previous_at=ranked._prev_at,
        revenue=ranked.revenue.fill_null(0.0).cast("float64"),
    )


def credits(
    interactions: ir.Table,
    request: ReportRequest,
    *,
    every_purchase: bool = False,
    half_life_days: float = HALF_LIFE_DAYS,
    lookback_days: float | None = None,
) -> ir.Table:
    """One row per (conversion, touch) with each model's credit: the touches since the previous
    conversion (and within the lookback), or one "(direct)" row for a conversion without any."""
    if half_life_days <= 0:
        raise ValidationError("half-life must be positive")
    conv = conversions(interactions, request, every_purchase=every_purchase)
    touch = touches(interactions)
    cond = [conv.customer_id == touch.customer_id, touch.at <= conv.conversion_at]
    # "after the previous conversion, if any", as one comparison: an OR here made DuckDB join
    # every conversion with every touch (a nested-loop join, 60% of the query) instead of
    # hashing on the customer
    cond.append(touch.at > conv.previous_at.fill_null(BEFORE_ANY_TOUCH))
    if lookback_days is not None:
        lookback_s = lookback_days * DAY_S
        age_s = conv.conversion_at.epoch_seconds() - touch.at.epoch_seconds()
        cond.append(age_s <= lookback_s)
    joined = conv.left_join(touch, cond)
    return _credit(joined, half_life_days)


def double(numerator: int, denominator: int = 1) -> ir.FloatingValue:
    """A DOUBLE PRECISION constant: Ibis writes a float literal as a bare 1.0, which PostgreSQL
    types NUMERIC, and the credits would come back as decimals."""
    return ibis.literal(numerator).cast("float64") / denominator


def _credit(joined: ir.Table, half_life_days: float) -> ir.Table:
    j = joined
    whole = ibis.window(group_by=j.conversion_seq)
    forward = ibis.window(group_by=j.conversion_seq, order_by=[j.at, j.seq])
    backward = ibis.window(group_by=j.conversion_seq, order_by=[ibis.desc(j.at), ibis.desc(j.seq)])
    age_days = (j.conversion_at.epoch_seconds() - j.at.epoch_seconds()) / DAY_S
    j = j.mutate(
        _n=j.seq.count().over(whole).cast("float64"),
        _rank=ibis.row_number().over(forward),
        _rank_back=ibis.row_number().over(backward),
        _weight=double(2) ** (-age_days / half_life_days),
    )
    j = j.mutate(_weights=j._weight.sum().over(whole))
    none, first, last = j._n == 0, j._rank == 0, j._rank_back == 0
    one, zero = double(1), double(0)
    return j.select(
        "customer_id",
        "conversion_seq",
        "conversion_at",
        "revenue",
        touch_seq=j.seq,
        touch_at=j.at,
        channel=none.ifelse(DIRECT_CHANNEL, touch_channel(j.medium)),
        source=j.source.fill_null(none.ifelse(DIRECT, NONE_LABEL)),
        medium=j.medium.fill_null(none.ifelse(DIRECT, NONE_LABEL)),
        campaign=ibis.coalesce(
            j.campaign, none.ifelse(DIRECT, j.source.fill_null("") + " / " + j.medium.fill_null(""))
        ),
        keyword=j.keyword.fill_null(none.ifelse(DIRECT, NONE_LABEL)),
        creative=j.creative.fill_null(none.ifelse(DIRECT, NONE_LABEL)),
        first_touch=(none | first).ifelse(one, zero),
        last_touch=(none | last).ifelse(one, zero),
        linear=none.ifelse(one, one / j._n),
        position=ibis.cases(
            (j._n <= 1, one),
            (j._n == 2, double(1, 2)),
            (first | last, double(2, 5)),
            else_=double(1, 5) / (j._n - 2),
        ),
        time_decay=none.ifelse(one, j._weight / j._weights),
    )


def attribution_table(
    interactions: ir.Table,
    request: ReportRequest,
    *,
    by: str = "campaign",
    every_purchase: bool = False,
    half_life_days: float = HALF_LIFE_DAYS,
    lookback_days: float | None = None,
) -> ir.Table:
    """Per value of `by`: conversions and revenue credited by each model, side by side."""
    if by not in DIMENSIONS:
        raise ValidationError(f"attribution by {by!r}? Use one of: {', '.join(DIMENSIONS)}")
    c = credits(
        interactions,
        request,
        every_purchase=every_purchase,
        half_life_days=half_life_days,
        lookback_days=lookback_days,
    )
    sums = {m: c[m].sum() for m in MODELS}
    sums |= {f"{m}_revenue": (c[m] * c.revenue).sum() for m in MODELS}
    return c.group_by(c[by].name(by)).aggregate(touches=c.touch_seq.count(), **sums)


SCHEMA_FIELDS = [("touches", pa.int64())] + [(m, pa.float64()) for m in MODELS]
# The revenue each model credits: in CSV and JSON; the terminal table shows the conversions,
# the five models side by side in a 100-column terminal.
REVENUE_FIELDS = [detail_field(f"{m}_revenue", pa.float64()) for m in MODELS]


def run_attribution(sources: Sources, request: ReportRequest) -> ReportResult:
    by = request.by or "campaign"
    expr = attribution_table(sources.interactions, request, by=by)
    raw = to_arrow(sources, expr).to_pylist()
    rows = [
        {by: r[by]}
        | {k: (r[k] if k == "touches" else round(float(r[k] or 0), 6)) for k in _names()}
        for r in raw
    ]
    rows.sort(key=lambda r: (-r["linear"], r[by]))
    schema = pa.schema([(by, pa.string()), *SCHEMA_FIELDS, *REVENUE_FIELDS])
    notes = [
        "conversion: a customer's first purchase, credited by each model",
        "touches: inbound tagged interactions, social engagement and 'how did you hear about "
        "us' answers before it",
        f"models: position-based 40/20/40; time decay half-life {HALF_LIFE_DAYS:g} days",
        f"total: {sum(r['linear'] for r in rows):,.0f} conversions, "
        f"{sum(r['linear_revenue'] for r in rows):,.2f} revenue credited",
        "revenue by model: --format csv or json (the <model>_revenue columns)",
    ]
    if request.start is not None or request.end is not None:
        notes.append(f"conversions in [{_fmt(request.start)}, {_fmt(request.end)})")
    return ReportResult(
        "attribution", "Attribution by model", pa.Table.from_pylist(rows, schema=schema), notes
    )


def _names() -> list[str]:
    return [name for name, _ in SCHEMA_FIELDS] + [f.name for f in REVENUE_FIELDS]


def _fmt(moment: object) -> str:
    return "…" if moment is None else naive(moment).isoformat(sep=" ")  # type: ignore[arg-type]


def plot_attribution(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    table = result.table
    label = table.column_names[0]
    names = [str(v) for v in table.column(label).to_pylist()]
    fig = go.Figure()
    for model in MODELS:
        fig.add_bar(name=model.replace("_", " "), x=names, y=table.column(model).to_pylist())
    fig.update_layout(
        title=result.title,
        barmode="group",
        xaxis_title=label,
        yaxis_title="conversions credited",
    )
    return fig


register(
    ReportSpec(
        name="attribution",
        title="Attribution by model",
        description="First purchases and their revenue credited to the touches before them by "
        "first-touch, last-touch, linear, position-based (40/20/40) and time-decay (7-day "
        "half-life) models, side by side, per campaign (default) or channel.",
        run=run_attribution,
        plot=plot_attribution,
    )
)
