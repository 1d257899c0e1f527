"""Figures the pages draw that no report's own plot gives (a report's plot is for a file; a
page shows its table beside the chart)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

KPI_BARS = (("sl", "SL"), ("sl2", "SL2"), ("abandon_rate", "Abandonment"))


def queue_service_levels(rows: list[dict[str, Any]], by: str = "queue") -> go.Figure:
    """SL, SL2 and abandonment per queue that had contacts, as grouped bars in percent."""
    import plotly.graph_objects as go

    shown = [r for r in rows if r["offered"]]
    fig = go.Figure(
        [
            go.Bar(
                name=label,
                x=[str(r[by]) for r in shown],
                y=[None if r[key] is None else 100 * r[key] for r in shown],
                hovertemplate="%{x}: %{y:.1f}%<extra>" + label + "</extra>",
            )
            for key, label in KPI_BARS
        ]
    )
    fig.update_layout(
        title="Service level and abandonment per queue",
        template="plotly_white",
        barmode="group",
        yaxis={"title": "%", "range": [0, 100]},
        height=380,
    )
    return fig


def staffing_curve(
    points: Sequence[tuple[int, float | None, float | None]],
    target: float,
    threshold_s: float,
    answer: int,
) -> go.Figure:
    """Service level and occupancy for each staffing, the target as a line, the answer marked."""
    import plotly.graph_objects as go

    agents = [p[0] for p in points]
    fig = go.Figure(
        [
            go.Scatter(
                name=f"Service level ({threshold_s:.0f} s)",
                x=agents,
                y=[None if p[1] is None else 100 * p[1] for p in points],
                mode="lines+markers",
                hovertemplate="%{x} agents: %{y:.1f}%<extra>service level</extra>",
            ),
            go.Scatter(
                name="Occupancy",
                x=agents,
                y=[None if p[2] is None else 100 * p[2] for p in points],
                mode="lines",
                line={"dash": "dot"},
                hovertemplate="%{x} agents: %{y:.1f}%<extra>occupancy</extra>",
            ),
        ]
    )
    fig.add_hline(
        y=100 * target,
        line={"color": "#a4161a", "dash": "dash"},
        annotation_text=f"target {target:.0%}",
        annotation_position="bottom right",
    )
    fig.add_vline(x=answer, line={"color": "#1b1f24", "width": 1})
    fig.update_layout(
        title="Service level and occupancy by agents on the phones",
        template="plotly_white",
        xaxis={"title": "agents", "dtick": 1 if len(agents) <= 20 else None},
        yaxis={"title": "%", "range": [0, 101]},
        height=380,
    )
    return fig


SCENARIO_BARS = (
    ("service_level", "Service level", 100.0),
    ("abandon_rate", "Abandonment", 100.0),
    ("occupancy", "Occupancy", 100.0),
)


def scenario_bars(scenarios: list[Any]) -> go.Figure:
    """Each scenario's service level, abandonment and occupancy (means, with their 95%
    intervals as error bars), grouped by figure."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for s in scenarios:
        means, plus, minus = [], [], []
        for key, _label, scale in SCENARIO_BARS:
            e = getattr(s, key)
            mean = None if e.mean is None else scale * e.mean
            means.append(mean)
            plus.append(None if e.high is None or mean is None else scale * e.high - mean)
            minus.append(None if e.low is None or mean is None else mean - scale * e.low)
        fig.add_bar(
            name=s.name,
            x=[label for _k, label, _s in SCENARIO_BARS],
            y=means,
            error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
            hovertemplate="%{x}: %{y:.1f}%<extra>" + s.name + "</extra>",
        )
    fig.update_layout(
        title="The day's figures per scenario (mean, 95% interval)",
        template="plotly_white",
        barmode="group",
        yaxis={"title": "%", "range": [0, 100]},
        height=380,
    )
    return fig


def segment_counts(points: list[Any]) -> go.Figure:
    """A segment's members at the end of each day, with the day's entries and exits as bars."""
    import plotly.graph_objects as go

    days = [str(p.day) for p in points]
    fig = go.Figure(
        [
            go.Scatter(name="Members", x=days, y=[p.members for p in points], mode="lines"),
            go.Bar(name="Entered", x=days, y=[p.entered for p in points], marker_color="#2a7d2e"),
            go.Bar(name="Left", x=days, y=[-p.left for p in points], marker_color="#a4161a"),
        ]
    )
    fig.update_layout(
        title="Members per day (entered up, left down)",
        template="plotly_white",
        barmode="relative",
        xaxis={"type": "category", "title": "day (UTC)"},  # whole days, never clock ticks
        yaxis={"title": "customers"},
        height=340,
    )
    return fig


def band_label(low: float | None, high: float | None) -> str:
    """A score band in words: "below 0", "20 to 50", "50 or more"."""
    if low is None:
        return f"below {high:g}"
    return f"{low:g} or more" if high is None else f"{low:g} to {high:g}"


def score_bands(model: str, bands: list[Any]) -> go.Figure:
    """A score model's customers per band between its thresholds (the last bands are the hot)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            x=[band_label(b.low, b.high) for b in bands],
            y=[b.customers for b in bands],
            marker_color="#1f5f8b",
            text=[f"{b.customers:,}" for b in bands],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=f"Customers by {model} score now",
        template="plotly_white",
        xaxis={"type": "category", "title": "score"},
        yaxis={"title": "customers"},
        height=320,
    )
    return fig


def sparkline(
    x: Sequence[Any], y: Sequence[float | None], name: str, *, step: bool
) -> dict[str, Any]:
    """A small line without axes (a table cell's trend): `step` holds each value until the next
    (a count that changes on some days only). As a figure's plain data (what Plotly's JSON is),
    on a figure made and checked by Plotly once: a page draws a dozen, and building each as a
    Figure (its template, its validation) cost 15 ms."""
    figure = copy.deepcopy(_sparkline_base(step))
    (trace,) = figure["data"]
    trace["x"] = [str(v) for v in x]
    trace["y"] = list(y)
    trace["hovertemplate"] = "%{x}: %{y:,}<extra>" + name + "</extra>"
    return figure


@functools.cache
def _sparkline_base(step: bool) -> dict[str, Any]:
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Scatter(
            x=[],
            y=[],
            mode="lines",
            line={"width": 2, "color": "#0b5cad", "shape": "hv" if step else "linear"},
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=60,
        width=180,
        showlegend=False,
        xaxis={"visible": False, "type": "category"},
        yaxis={"visible": False},
    )
    return fig.to_dict()


def forecast_lines(rows: Sequence[dict[str, Any]], interval_min: int) -> dict[str, Any]:
    """The forecast contacts per interval (workforce.Forecast's rows), one step line a queue; as
    plain figure data on a figure Plotly checked once (`_lines_base`: a week of intervals made a
    Figure in ~20 ms)."""
    figure = _interval_lines(
        f"Forecast contacts per {interval_min}-minute interval",
        "contacts",
        [
            (
                q,
                [r["interval_start"] for r in rows if r["queue"] == q],
                [r["expected"] for r in rows if r["queue"] == q],
                "solid",
                "%{x|%a %Y-%m-%d %H:%M} UTC: %{y:.1f}<extra>" + q + "</extra>",
            )
            for q in sorted({r["queue"] for r in rows})
        ],
    )
    return figure


def plan_lines(needs: Sequence[Any]) -> dict[str, Any]:
    """The plan's agents per interval (plan.Need): scheduled with shrinkage as a step line a
    queue, the agents on the phones dotted beside it (plain figure data, as `forecast_lines`)."""
    lines = []
    for q in sorted({n.queue for n in needs}):
        mine = [n for n in needs if n.queue == q]
        x = [n.interval_start for n in mine]
        for label, values, dash in (
            ("scheduled", [n.scheduled for n in mine], "solid"),
            ("on the phones", [n.agents for n in mine], "dot"),
        ):
            hover = "%{x|%a %Y-%m-%d %H:%M} UTC: %{y} agents<extra>" + f"{q} {label}</extra>"
            lines.append((f"{q}: {label}", x, values, dash, hover))
    return _interval_lines(
        "Agents per interval: scheduled (with shrinkage) and on the phones", "agents", lines
    )


def _interval_lines(
    title: str, y_title: str, lines: Sequence[tuple[str, list[Any], list[Any], str, str]]
) -> dict[str, Any]:
    """Step lines over interval starts: (name, x, y, dash, hover template) each."""
    figure = copy.deepcopy(_lines_base(y_title))
    (prototype,) = figure.pop("data")
    figure["layout"]["title"]["text"] = title
    figure["data"] = []
    for name, x, y, dash, hover in lines:
        trace = copy.deepcopy(prototype)
        trace.update(name=name, x=list(x), y=list(y), hovertemplate=hover)
        trace["line"]["dash"] = dash
        figure["data"].append(trace)
    return figure


@functools.cache
def _lines_base(y_title: str) -> dict[str, Any]:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[], y=[], mode="lines", line={"shape": "hv", "dash": "solid"}))
    fig.update_layout(
        title={"text": ""},
        template="plotly_white",
        xaxis={"title": {"text": "interval start (UTC)"}},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero"},
        height=380,
        margin={"l": 40, "r": 40, "b": 40},  # what chart() gives a checked Figure
    )
    return fig.to_dict()


def answer_scores(title: str, spread: Sequence[tuple[int, str, int]]) -> go.Figure:
    """A CSAT or NPS question's answers per score given (every score of its scale)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            x=[str(score) for score, _, _ in spread],
            y=[n for _, _, n in spread],
            marker_color="#1f5f8b",
            text=[f"{n:,}" for _, _, n in spread],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=title,
        template="plotly_white",
        xaxis={"type": "category", "title": "score given"},
        yaxis={"title": "answers"},
        height=300,
    )
    return fig


def category_counts(title: str, counts: Sequence[tuple[str, int]], x_title: str) -> go.Figure:
    """Customers per category (a tier, a referral's state), as bars."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            x=[label for label, _ in counts],
            y=[n for _, n in counts],
            marker_color="#1f5f8b",
            text=[f"{n:,}" for _, n in counts],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=title,
        template="plotly_white",
        xaxis={"type": "category", "title": x_title},
        yaxis={"title": "customers"},
        height=320,
    )
    return fig
