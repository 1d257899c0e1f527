"""A staffing plan: agents per queue and interval for the forecast contacts (Erlang C, or Erlang
A with callers' patience, on each queue's target and its handle time from the log), the agents
to schedule with shrinkage, and a shift cover — the fewest agent-hours of fixed-length shifts
that staff every interval — from pyworkforce's MinRequiredResources (OR-Tools CP-SAT). Export
as CSV, draw as a heatmap of agents by weekday × time of day."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from touchpoint.domain import erlang

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHIFT_HOURS = 8
SHIFT_STEP_MIN = 60  # a shift may start on every hour that lets it end by midnight


@dataclass(frozen=True)
class Need:
    """One queue's interval: contacts expected, their traffic, the agents on the phones the
    target needs, the agents to schedule with shrinkage, and the service level they reach."""

    queue: str
    interval_start: datetime
    local_start: datetime  # in the queue's zone: the weekday and time of day of the heatmap
    expected: float
    traffic_erlangs: float
    agents: int
    scheduled: int
    service_level: float


@dataclass(frozen=True)
class Shift:
    day: date
    start: str  # HH:MM local
    end: str
    agents: int


@dataclass(frozen=True)
class Cover:
    """A queue's shift cover: solver status, agent-hours of the shifts, and the agent-hours the
    intervals need (the cover's floor: shifts cannot follow demand exactly)."""

    queue: str
    status: str
    agent_hours: float
    needed_hours: float
    shifts: tuple[Shift, ...]


def needs(
    arrivals: pa.Table,
    *,
    interval_min: int,
    aht_s: Mapping[str, float],
    targets: Mapping[str, tuple[float, float]],
    zones: Mapping[str, ZoneInfo],
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
    patience_s: float | None = None,
) -> list[Need]:
    """The agents each forecast interval needs (arrivals: forecast.forecast_arrivals' table)."""
    found = []
    for row in arrivals.to_pylist():
        queue = row["queue"]
        share, threshold = targets[queue]
        traffic = erlang.traffic_intensity(row["expected"], interval_min * 60, aht_s[queue])
        required = erlang.required_agents(
            traffic,
            aht_s=aht_s[queue],
            target=share,
            threshold_s=threshold,
            max_occupancy=max_occupancy,
            patience_s=patience_s,
        )
        at = row["interval_start"].astimezone(UTC)
        found.append(
            Need(
                queue=queue,
                interval_start=at,
                local_start=at.astimezone(zones.get(queue, ZoneInfo("UTC"))),
                expected=row["expected"],
                traffic_erlangs=traffic,
                agents=required.agents,
                scheduled=erlang.with_shrinkage(required.agents, shrinkage)[1],
                service_level=required.performance.service_level,
            )
        )
    return found


def shift_cover(
    queue_needs: Sequence[Need],
    *,
    interval_min: int,
    shift_hours: int = SHIFT_HOURS,
    max_search_s: float = 10.0,
) -> Cover:
    """The cheapest set of `shift_hours`-long shifts (starting on the hour, within the day)
    covering every interval's scheduled agents, for one queue; cost = agent-hours."""
    from pyworkforce.scheduling import MinRequiredResources

    queue = queue_needs[0].queue
    per_day = 24 * 60 // interval_min
    days = sorted({n.local_start.date() for n in queue_needs})
    required = [[0] * per_day for _ in days]
    for n in queue_needs:
        index = (n.local_start.hour * 60 + n.local_start.minute) // interval_min
        row = required[days.index(n.local_start.date())]
        row[index] = max(row[index], n.scheduled)
    length = shift_hours * 60 // interval_min
    coverage = {}
    for start_min in range(0, 24 * 60 - shift_hours * 60 + 1, SHIFT_STEP_MIN):
        first = start_min // interval_min
        coverage[_clock(start_min)] = [int(first <= p < first + length) for p in range(per_day)]
    peak = max((max(r) for r in required), default=0)
    needed_hours = sum(map(sum, required)) * interval_min / 60
    if peak == 0:
        return Cover(queue, "OPTIMAL", 0.0, 0.0, ())
    solved = MinRequiredResources(
        num_days=len(days),
        periods=per_day,
        shifts_coverage=coverage,
        required_resources=required,
        max_period_concurrency=peak * len(coverage),
        max_shift_concurrency=peak,
        cost_dict=dict.fromkeys(coverage, shift_hours),
        max_search_time=max_search_s,
        num_search_workers=1,
    ).solve()
    shifts = tuple(
        Shift(
            days[s["day"]],
            s["shift"],
            _clock(_minutes(s["shift"]) + shift_hours * 60),
            s["resources"],
        )
        for s in solved["resources_shifts"]
        if s["resources"] > 0
    )
    return Cover(queue, solved["status"], float(solved["cost"]), needed_hours, shifts)


def write_csv(found: Sequence[Need], path: Path) -> None:
    """One row per queue and interval."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(Need.__dataclass_fields__))
        writer.writeheader()
        for n in found:
            row = asdict(n)
            row["interval_start"] = n.interval_start.isoformat()
            row["local_start"] = n.local_start.isoformat()
            writer.writerow(row)


def write_heatmap(found: Sequence[Need], path: Path, *, interval_min: int) -> None:
    """The heatmap as FILE.png (Kaleido) or FILE.html (plotly.js inlined, works offline)."""
    fig = heatmap(found, interval_min=interval_min)
    if path.suffix.lower() == ".html":
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    else:
        fig.write_image(str(path), format="png", width=1400, height=fig.layout.height)


def heatmap(found: Sequence[Need], *, interval_min: int) -> Any:
    """Agents to schedule by weekday (rows) and time of day (columns), one panel per queue."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    queues = sorted({n.queue for n in found})
    per_day = 24 * 60 // interval_min
    times = [_clock(i * interval_min) for i in range(per_day)]
    fig = make_subplots(rows=len(queues), cols=1, subplot_titles=queues, vertical_spacing=0.14)
    peak = max((n.scheduled for n in found), default=1) or 1
    for row, queue in enumerate(queues, start=1):
        grid: dict[int, dict[int, int]] = defaultdict(dict)
        for n in found:
            if n.queue == queue:
                index = (n.local_start.hour * 60 + n.local_start.minute) // interval_min
                grid[n.local_start.weekday()][index] = n.scheduled
        z = [[grid[wd].get(i, 0) for i in range(per_day)] for wd in range(7)]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=times,
                y=list(WEEKDAYS),
                zmin=0,
                zmax=peak,
                colorscale="Blues",
                showscale=row == 1,
                colorbar={"title": "agents"},
                hovertemplate="%{y} %{x}: %{z} agents<extra>" + queue + "</extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=row, col=1)
    fig.update_layout(
        title="Agents to schedule by weekday and time of day (with shrinkage)",
        height=max(350, 260 * len(queues)),
        template="plotly_white",
    )
    return fig


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
