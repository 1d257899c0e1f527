"""Figures the pages draw that no report's own plot gives (a report's plot is for a file; a
page shows its table beside the chart)."""

from __future__ import annotations

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
