"""One Plotly figure per report, and writing it offline: self-contained HTML or PNG via Kaleido."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from touchpoint.analytics.reports import ReportResult
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
    """The lifecycle map: stages as nodes, customers moving between them as links."""
    import plotly.graph_objects as go

    rows = [r for r in _rows(result) if r.get("by", None) in (None, _first_key(result))]
    labels: list[str] = []
    for row in rows:
        for name in (row["from_stage"], row["to_stage"]):
            if name not in labels:
                labels.append(name)
    index = {name: i for i, name in enumerate(labels)}
    link = {
        "source": [index[r["from_stage"]] for r in rows],
        "target": [index[r["to_stage"]] for r in rows],
        "value": [r["transitions"] for r in rows],
        "color": [_flow_color(r["to_stage"], alpha=0.45) for r in rows],
    }
    node = {"label": labels, "pad": 18, "color": [_flow_color(n, alpha=0.9) for n in labels]}
    fig = go.Figure(go.Sankey(node=node, link=link, arrangement="snap"))
    return _layout(
        fig,
        result,
        annotations=[
            _note("red: customers lost; orange: at risk; green: won back; blue: moving along")
        ],
    )


# Where a flow goes, by the stage's name, so losses stand out in any model's vocabulary.
_LOSS_WORDS = ("churn", "lost", "lapsed", "dormant", "cancel")
_RISK_WORDS = ("risk", "inactive")
_GAIN_WORDS = ("win", "back", "reactivat", "resurrect")


def _flow_color(stage: str, *, alpha: float) -> str:
    name = stage.lower()
    if any(word in name for word in _LOSS_WORDS):
        rgb = "214, 39, 40"  # red
    elif any(word in name for word in _RISK_WORDS):
        rgb = "255, 127, 14"  # orange
    elif any(word in name for word in _GAIN_WORDS):
        rgb = "44, 160, 44"  # green
    else:
        rgb = "31, 119, 180"  # blue: moving along the lifecycle
    return f"rgba({rgb}, {alpha})"


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
