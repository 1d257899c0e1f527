"""Templates (Jinja2, autoescaped: whatever came from outside is shown as text), Plotly charts as
page fragments, and the period a page's picker names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from touchpoint.errors import ValidationError
from touchpoint.services.access import Principal

if TYPE_CHECKING:
    import plotly.graph_objects as go

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every page, fragment and error
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# (path, title, permission): the navigation; each user sees the pages their role may open.
PAGES = (
    ("/app/overview", "Overview", "lifecycle.read"),
    ("/app/lifecycle", "Lifecycle", "lifecycle.read"),
    ("/app/kpis", "Contact-center KPIs", "analytics.read"),
    ("/app/cohorts", "Cohorts", "analytics.read"),
    ("/app/churn", "Churn", "analytics.read"),
    ("/app/clv", "CLV", "analytics.read"),
    ("/app/attribution", "Attribution", "analytics.read"),
    ("/app/customers", "Customers", "customers.list"),
    ("/app/segments", "Segments", "customers.list"),
    ("/app/scores", "Scores", "customers.list"),
    ("/app/playbooks", "Playbooks", "playbooks.read"),
    ("/app/surveys", "Surveys", "analytics.read"),
    ("/app/loyalty", "Loyalty", "analytics.read"),
    ("/app/wallboard", "Wallboard", "cc.read"),
    ("/app/tickets", "Tickets", "tickets.read"),
    ("/app/campaigns", "Campaigns", "cc.read"),
    ("/app/audit", "Audit trail", "audit.read"),
    ("/app/admin", "Users and keys", "users.admin"),
    ("/app/staffing", "Staffing", "cc.read"),
    ("/app/simulate", "What-ifs", "cc.read"),
    ("/app/forecast", "Forecast", "cc.read"),
)

# The periods a picker offers: a name, and how many days back from now (None: all history).
PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
PERIOD_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 12 months",
    "all": "All history",
}


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """The start of a named period (None: from the beginning); an unknown name is refused
    naming the field and the choices."""
    if period not in PERIODS:
        raise ValidationError(f"period: unknown period {period!r}; allowed: {', '.join(PERIODS)}")
    days = PERIODS[period]
    return None if days is None else (now or datetime.now(UTC)) - timedelta(days=days)


def page(
    request: Request,
    template: str,
    who: Principal | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A template rendered with the navigation the signed-in user may follow."""
    nav = [(path, title) for path, title, permission in PAGES if who and who.may(permission)]
    session = getattr(request.state, "session", None)
    values.setdefault("csrf", session.csrf if session and session.user_id else None)
    html = _env.get_template(template).render(
        request_path=request.url.path, nav=nav, who=who, **values
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def chart(fig: go.Figure | dict[str, Any], div_id: str, *, small: bool = False) -> Markup:
    """A figure as a `<div>` and the script drawing it with the Plotly the page loaded from this
    server (no CDN); the modebar's camera downloads it as a PNG. A `small` one (a sparkline)
    keeps its own size and no margins. A figure given as its plain data (charts.sparkline's,
    made from a figure Plotly checked) is drawn without checking it again."""
    import plotly.io as pio

    if isinstance(fig, dict):
        if small:
            fig["layout"]["margin"] = dict(SMALL_MARGIN)
    elif small:
        fig.update_layout(margin=SMALL_MARGIN)
    else:
        fig.update_layout(height=fig.layout.height or 460, margin={"l": 40, "r": 40, "b": 40})
    html = pio.to_html(
        fig,
        validate=not isinstance(fig, dict),
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": not small},
    )
    return Markup(html)  # Plotly's own output: the figure's data is JSON-encoded in it


SMALL_MARGIN = {"l": 2, "r": 2, "t": 2, "b": 2}


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} s"


_env.filters["percent"] = percent
_env.filters["seconds"] = seconds
_env.filters["when"] = lambda v: "–" if v is None else f"{v:%Y-%m-%d %H:%M} UTC"
