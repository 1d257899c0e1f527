"""One Plotly figure per report, and writing it offline: self-contained HTML or PNG via Kaleido."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from touchpoint.analytics.reports import ReportResult
from touchpoint.domain.flows import ALONG, LOSS, RISK, WIN_BACK, flow_kind
from touchpoint.errors import ValidationError

if TYPE_CHECKING:  # Plotly loads when a plot is drawn, not when a report module is imported
    import plotly.graph_objects as go

PLOT_FORMATS = (".html", ".png")


def _rows(result: ReportResult) -> list[dict[str, Any]]:
    return result.table.to_pylist()


def _layout(fig: go.Figure, result: ReportResult, **extra: Any) -> go.Figure:
    fig.update_layout(title=result.title, template="plotly_white", **extra)
    return fig


def _series(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row.get("by", "all")), []).append(row)
    return groups


def funnel(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, rows in _series(_rows(result)).items():
        fig.add_trace(
            go.Funnel(
                name=key,
                y=[r["stage"] for r in rows],
                x=[r["customers"] for r in rows],
                textinfo="value+percent initial",
            )
        )
    return _layout(fig, result)


def sankey(result: ReportResult) -> go.Figure:
    """The lifecycle map: stages as nodes, customers moving between them as links. The stages
    run left to right along a staircase, the overlays (at risk, churned, win back) along the
    bottom, so flows back (a win-back to retention) and down (into at risk) do not cross the
    labels; each node's label carries how many moves came in, which a static image shows, and
    each link's hover its moves and their share of the moves out of its stage. The colours are
    what the stage model says a move means (domain.flows): losses red, at risk orange,
    win-backs and recoveries green."""
    import plotly.graph_objects as go

    rows = [r for r in _rows(result) if r.get("by", None) in (None, _first_key(result))]
    labels = _map_stages(result, rows)
    index = {name: i for i, name in enumerate(labels)}
    into = dict.fromkeys(labels, 0)
    out = dict.fromkeys(labels, 0)
    for r in rows:
        into[r["to_stage"]] += r["transitions"]
        out[r["from_stage"]] += r["transitions"]
    kinds = overlay_kinds_of(result)
    backward = [_is_backward(r, index) for r in rows]
    link = {
        "source": [index[r["from_stage"]] for r in rows],
        "target": [index[r["to_stage"]] for r in rows],
        "value": [r["transitions"] for r in rows],
        "customdata": [
            [r["from_stage"], r["to_stage"], r["transitions"] / out[r["from_stage"]]] for r in rows
        ],
        "color": [
            _kind_color(flow_kind(kinds, r["from_stage"], r["to_stage"]), 0.75 if back else 0.4)
            for r, back in zip(rows, backward, strict=True)
        ],
        "hovertemplate": "%{source.label} → %{target.label}: %{value:,} moves, "
        "%{customdata[2]:.1%} of the moves out<extra></extra>",
    }
    x, y = _positions(result, labels)
    node = {
        "label": [f"{n} ({into[n] or out[n]:,})" for n in labels],
        "customdata": labels,
        "pad": 22,
        "thickness": 18,
        "color": [_kind_color(flow_kind(kinds, None, n), 0.9) for n in labels],
        "x": x,
        "y": y,
    }
    fig = go.Figure(
        go.Sankey(node=node, link=link, arrangement="fixed", textfont={"size": 13, "color": "#222"})
    )
    return _layout(
        fig,
        result,
        margin={"t": 90},
        annotations=[
            _note(
                "node (n): moves into the stage; red: customers lost; orange: at risk; "
                "green: won back or recovered; blue: moving along; loops below: flows back"
            )
        ],
    )


def overlay_kinds_of(result: ReportResult) -> dict[str, str]:
    """The transitions report's overlays and what a move into each means (domain.flows), from
    the table's metadata; a table without it (one read back from a CSV, or built by hand) is
    read with the default stage model's overlays, so its losses are still red."""
    meta = result.table.schema.metadata or {}
    if b"kinds" not in meta:
        from touchpoint.domain.flows import overlay_kinds
        from touchpoint.lifecycle.model import load_model

        return overlay_kinds(load_model())
    kinds = {}
    for pair in meta[b"kinds"].decode().split(","):
        name, _, kind = pair.partition(":")
        if kind:
            kinds[name] = kind
    return kinds


def _map_stages(result: ReportResult, rows: list[dict[str, Any]]) -> list[str]:
    """The nodes: the model's stages in order (from the table's metadata), then any other."""
    meta = result.table.schema.metadata or {}
    order = [s for s in meta.get(b"stages", b"").decode().split(",") if s]
    order += [s for s in meta.get(b"overlays", b"").decode().split(",") if s]
    seen = {name for r in rows for name in (r["from_stage"], r["to_stage"])}
    labels = [name for name in ["(start)", *order] if name in seen]
    return labels + sorted(seen - set(labels))


def _positions(result: ReportResult, labels: list[str]) -> tuple[list[float], list[float]]:
    """x, y in (0, 1) per node: the start and the stages on a staircase from top left, the
    overlays spread along the bottom right, under the stages they come from."""
    meta = result.table.schema.metadata or {}
    overlays = {s for s in meta.get(b"overlays", b"").decode().split(",") if s}
    main = [n for n in labels if n not in overlays]
    lows = [n for n in labels if n in overlays]
    x: dict[str, float] = {}
    y: dict[str, float] = {}
    for i, name in enumerate(main):
        step = i / max(len(main) - 1, 1)
        x[name], y[name] = 0.01 + 0.8 * step, 0.2 + 0.4 * step
    for j, name in enumerate(lows):
        x[name] = 0.5 + 0.45 * j / max(len(lows) - 1, 1)
        y[name] = 0.8
    return [x[n] for n in labels], [y[n] for n in labels]


def _is_backward(row: dict[str, Any], index: dict[str, int]) -> bool:
    return index[row["to_stage"]] <= index[row["from_stage"]]


_KIND_RGB = {
    LOSS: "214, 39, 40",  # red
    RISK: "255, 127, 14",  # orange
    WIN_BACK: "44, 160, 44",  # green
    ALONG: "31, 119, 180",  # blue: moving along the lifecycle
}


def _kind_color(kind: str, alpha: float) -> str:
    return f"rgba({_KIND_RGB[kind]}, {alpha})"


def _note(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "showarrow": False,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": -0.08,
        "font": {"size": 11, "color": "#666"},
    }


def _first_key(result: ReportResult) -> Any:
    if "by" not in result.table.column_names or result.table.num_rows == 0:
        return None
    return result.table.column("by")[0].as_py()


def box_percentiles(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, rows in _series(_rows(result)).items():
        stages = [r["stage"] for r in rows]
        fig.add_trace(go.Bar(name=f"{key} p50", x=stages, y=[r["p50_days"] for r in rows]))
        fig.add_trace(go.Bar(name=f"{key} p90", x=stages, y=[r["p90_days"] for r in rows]))
    return _layout(fig, result, barmode="group", yaxis_title="days in stage")


def heatmap(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    rows = _rows(result)
    cohorts = sorted({str(r["cohort"]) for r in rows})
    periods = sorted({r["period"] for r in rows})
    cell = {(str(r["cohort"]), r["period"]): r["retention"] for r in rows}
    z = [[cell.get((c, p)) for p in periods] for c in cohorts]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=periods, y=cohorts, colorscale="Blues", zmin=0, zmax=1, texttemplate="%{z:.0%}"
        )
    )
    interval = (result.table.schema.metadata or {}).get(b"interval", b"month").decode()
    return _layout(
        fig, result, xaxis_title=f"{interval}s since first purchase", yaxis_autorange="reversed"
    )


def stacked_bars(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    rows = _rows(result)
    fig = go.Figure()
    for status in ("new", "returning", "resurrecting", "dormant"):
        picked = [r for r in rows if r["status"] == status]
        fig.add_trace(
            go.Bar(name=status, x=[r["period"] for r in picked], y=[r["customers"] for r in picked])
        )
    return _layout(fig, result, barmode="relative", yaxis_title="customers")


def rate_lines(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, rows in _series(_rows(result)).items():
        fig.add_trace(
            go.Scatter(
                name=key,
                mode="lines+markers",
                x=[r["period"] for r in rows],
                y=[r["churn_rate"] for r in rows],
            )
        )
    return _layout(fig, result, yaxis_tickformat=".0%", yaxis_title="churn rate")


def table_figure(result: ReportResult) -> go.Figure:
    import plotly.graph_objects as go

    columns = result.table.column_names
    cells = [[_fmt(v) for v in result.table.column(c).to_pylist()] for c in columns]
    fig = go.Figure(go.Table(header={"values": columns}, cells={"values": cells}))
    return _layout(fig, result)


def _fmt(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def write_plot(fig: go.Figure, path: Path) -> None:
    """`.html`: one self-contained file (plotly.js inlined, works offline); `.png`: Kaleido."""
    suffix = path.suffix.lower()
    if suffix == ".html":
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    elif suffix == ".png":
        fig.write_image(str(path), format="png", width=1100, height=650)
    else:
        raise ValidationError(f"--plot must end in .html or .png, not {path.name!r}")


# --- contact center and KPIs: charts a manager reads, not a picture of the table -------------

SERVICE_LEVEL_GOAL = 0.8  # the classic 80/20: 80% of contacts answered within the target wait
_STAGE_COLOURS = ("#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def service_levels(result: ReportResult) -> go.Figure:
    """Service level per channel and queue against the 80% goal (left), and the average speed of
    answer of live queues against their target wait (right); the total row in grey."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = _rows(result)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Service level (answered within target / offered)", "Speed of answer"),
        horizontal_spacing=0.12,
    )
    names = [_queue_label(r) for r in rows]
    grey = [_goal_colour(r) for r in rows]
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["service_level"] for r in rows],
            marker_color=grey,
            text=[_pct(r["service_level"]) for r in rows],
            textposition="outside",
            name="service level",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_hline(
        y=SERVICE_LEVEL_GOAL,
        line_dash="dash",
        line_color="#d62728",
        annotation_text=f"goal {SERVICE_LEVEL_GOAL:.0%}",
        annotation_position="top right",
        row=1,
        col=1,
    )
    live = [r for r in rows if r["asa_s"] is not None]
    fig.add_trace(
        go.Bar(
            x=[_queue_label(r) for r in live],
            y=[r["asa_s"] for r in live],
            marker_color=["#999" if r["channel"] == "(total)" else "#1f77b4" for r in live],
            text=[f"{r['asa_s']:.0f} s" for r in live],
            textposition="outside",
            name="average speed of answer",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    targets = [r for r in live if r["target"].endswith(" s")]
    fig.add_trace(
        go.Scatter(
            x=[_queue_label(r) for r in targets],
            y=[float(r["target"].split()[0]) for r in targets],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 40, "color": "#d62728", "line_width": 3},
            name="target wait",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1.15], row=1, col=1)
    fig.update_yaxes(title_text="seconds", row=1, col=2)
    return _layout(fig, result, legend={"orientation": "h", "y": -0.2})


def _goal_colour(row: dict[str, Any]) -> str:
    """Grey for the total, green where the goal is met, orange where it is not."""
    if row["channel"] == "(total)":
        return "#999"
    met = (row["service_level"] or 0) >= SERVICE_LEVEL_GOAL
    return "#2ca02c" if met else "#ff7f0e"


def _queue_label(row: dict[str, Any]) -> str:
    return "total" if row["channel"] == "(total)" else f"{row['channel']} / {row['queue']}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


_TILE_UNITS = {"money": "", "1-5": " / 5", "-100..100": "", "minutes": " min", "hours": " h"}


def kpis(result: ReportResult) -> go.Figure:
    """Small multiples by kind of number: rates (percent bars), volumes (count bars), each
    coloured by lifecycle stage; and one tile per money, score or duration KPI."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = [r for r in _rows(result) if r["value"] is not None]
    stages = list(dict.fromkeys(r["stage"] for r in _rows(result)))
    colour = {s: _STAGE_COLOURS[i % len(_STAGE_COLOURS)] for i, s in enumerate(stages)}
    tiles = [r for r in rows if r["unit"] in _TILE_UNITS]
    cols = max(len(tiles), 2)
    half = cols // 2
    specs: list[list[Any]] = [
        [{"type": "xy", "colspan": half}, *[None] * (half - 1)]
        + [{"type": "xy", "colspan": cols - half}, *[None] * (cols - half - 1)],
        [{"type": "domain"}] * cols,
    ]
    fig = make_subplots(
        rows=2,
        cols=cols,
        specs=specs,
        row_heights=[0.75, 0.25],
        subplot_titles=("Rates", "Volumes"),
        horizontal_spacing=0.08,
        vertical_spacing=0.12,
    )
    for unit, col, fmt in (("ratio", 1, ".0%"), ("count", half + 1, ",.0f")):
        picked = [
            r for r in rows if r["unit"] == unit or (unit == "count" and r["unit"] == "customers")
        ]
        fig.add_trace(
            go.Bar(
                y=[r["kpi"].replace("_", " ") for r in picked],
                x=[r["value"] for r in picked],
                orientation="h",
                marker_color=[colour[r["stage"]] for r in picked],
                texttemplate=f"%{{x:{fmt}}}",
                textposition="outside",
                cliponaxis=False,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=col)
        fig.update_xaxes(tickformat=fmt, row=1, col=col)
    for i, r in enumerate(tiles):
        money = r["unit"] == "money"
        fig.add_trace(
            go.Indicator(
                mode="number",
                value=r["value"],
                number={
                    "valueformat": (",.0f" if r["value"] >= 10_000 else ",.2f") if money else ".1f",
                    "suffix": _TILE_UNITS[r["unit"]],
                    "font": {"size": 30, "color": colour[r["stage"]]},
                },
                title={
                    "text": f"{r['kpi'].replace('_', ' ')}<br><sub>{r['stage']}</sub>",
                    "font": {"size": 14},
                },
            ),
            row=2,
            col=i + 1,
        )
    for stage in stages:  # a legend of stage colours
        fig.add_trace(
            go.Bar(x=[None], y=[None], name=stage, marker_color=colour[stage]), row=1, col=1
        )
    fig.update_xaxes(range=[0, 1.1], row=1, col=1)
    return _layout(fig, result, legend={"orientation": "h", "y": -0.02, "x": 0.3})
