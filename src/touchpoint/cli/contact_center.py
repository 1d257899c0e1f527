"""`touchpoint cc config apply|show`, `cc live`, `cc monitor`, `cc agent`, `cc tick`: the contact
center from the terminal — its configuration (a TOML file of queues, agents and routing rules),
the live picture of queues and agents (once, or as a wallboard refreshing in place), and agents'
states."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened
from touchpoint.errors import ValidationError

group = typer.Typer(
    help="The contact center: configuration, live queues and agents, agents' states.",
    no_args_is_help=True,
)
config_group = typer.Typer(
    help="The configuration: queues, agents, routing rules (one TOML file).",
    no_args_is_help=True,
)
group.add_typer(config_group, name="config")

AGENT_COMMANDS = ("login", "ready", "not_ready", "logout")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="cc")


@config_group.command("apply")
def config_apply(
    path: Annotated[Path, typer.Argument(help="A TOML file: [queues.ID], [agents.ID], [[rules]]")],
    data_dir: DataDir = None,
) -> None:
    """Validate the whole file and put it in force; on any mistake, list each with its line and
    change nothing."""
    from touchpoint.services.contact_center import apply_config

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from None
    with opened(data_dir) as tp:
        applied = apply_config(tp, text=text, actor=cli_actor())
    show.console.print(
        f"configuration {applied.version} in force: {applied.queues} queues, "
        f"{applied.agents} agents, {applied.rules} routing rules"
    )


@config_group.command("show")
def config_show(data_dir: DataDir = None) -> None:
    """Print the configuration in force (as JSON)."""
    from touchpoint.services.contact_center import config_document

    with opened(data_dir) as tp:
        document = config_document(tp)
    show.console.print_json(json.dumps(document))


@group.command("live")
def live(data_dir: DataDir = None) -> None:
    """Queues (waiting, longest wait, in progress, agents by state) and agents now."""
    from touchpoint.services.contact_center import live as live_picture

    with opened(data_dir) as tp:
        picture = live_picture(tp)
    queues = Table(title="Queues")
    for column in ("queue", "waiting", "longest wait", "in progress", "agents"):
        queues.add_column(column, justify="left" if column in ("queue", "agents") else "right")
    for q in picture["queues"]:
        agents = ", ".join(f"{n} {state}" for state, n in sorted(q["agents"].items())) or "-"
        queues.add_row(
            q["queue"],
            str(q["waiting"]),
            f"{q['longest_wait_s']:.0f} s",
            str(q["in_progress"]),
            agents,
        )
    show.console.print(queues)
    agents_table = Table(title="Agents")
    for column in ("agent", "team", "state", "load", "occupancy"):
        agents_table.add_column(column)
    for a in picture["agents"]:
        load = ", ".join(f"{n} {c}" for c, n in sorted(a["load"].items())) or "-"
        agents_table.add_row(
            a["agent"], show.plain(a["team"] or "-"), a["state"], load, f"{a['occupancy']:.0%}"
        )
    show.console.print(agents_table)


@group.command("monitor")
def monitor(
    interval: Annotated[
        float, typer.Option(min=0.2, max=3600, help="Seconds between refreshes")
    ] = 2.0,
    once: Annotated[
        bool, typer.Option("--once", help="Print one frame and exit (for pipes and scripts)")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """A wallboard in the terminal, refreshed in place every --interval seconds until Ctrl-C:
    per queue the contacts waiting, the longest wait, agents by state, today's service level
    (SL and SL2 against the queue's target), abandonment and SLA breaches (open tickets
    breached now / breaches today); then every agent's state, load and occupancy. The same
    picture as GET /v1/cc/live; today is since midnight UTC."""
    from touchpoint.services.contact_center import wallboard

    with opened(data_dir) as tp:
        frame = wallboard_frame(wallboard(tp))
        if once:
            show.console.print(frame)
            return
        with Live(frame, console=show.console, auto_refresh=False, screen=False) as live:
            try:
                while True:
                    time.sleep(interval)
                    live.update(wallboard_frame(wallboard(tp)), refresh=True)
            except KeyboardInterrupt:
                pass


AGENT_ORDER = ("busy", "ready", "wrap_up", "not_ready", "logged_out")


def wallboard_frame(picture: dict[str, Any]) -> Group:
    """One frame of `cc monitor`: a heading, the queues' table and the agents' table. Every name
    is printed as text, never read as markup."""
    at = datetime.fromisoformat(picture["at"])
    heading = Text(f"Contact center at {at:%Y-%m-%d %H:%M:%S} UTC", style="bold")
    breaches = picture.get("sla_breaches") or {}
    queues = Table(title="Queues (today since midnight UTC)", title_justify="left")
    for column in ("queue", "waiting", "longest wait", "agents", "SL", "SL2", "abandoned"):
        queues.add_column(column, justify="left" if column in ("queue", "agents") else "right")
    queues.add_column("SLA breaches\nopen / today", justify="right")
    for q in picture["queues"]:
        today = q.get("today") or {}
        breached = breaches.get(q["queue"])
        queues.add_row(
            Text(q["queue"]),
            str(q["waiting"]),
            _duration(q["longest_wait_s"]) if q["waiting"] else "-",
            Text(_by_state(q["agents"]) or "-"),
            _share(today.get("sl")),
            _share(today.get("sl2")),
            _abandoned(today),
            f"{breached['open']} / {breached['today']}" if breached else "-",
        )
    agents = Table(title="Agents", title_justify="left")
    for column in ("agent", "team", "state", "load", "occupancy"):
        agents.add_column(column, justify="right" if column == "occupancy" else "left")
    for a in sorted(picture["agents"], key=lambda a: (_rank(a["state"]), a["agent"])):
        load = ", ".join(f"{n} {c}" for c, n in sorted(a["load"].items())) or "-"
        agents.add_row(
            Text(a["agent"]),
            Text(a["team"] or "-"),
            Text(a["state"].replace("_", " ")),
            Text(load),
            f"{a['occupancy']:.0%}",
        )
    return Group(heading, queues, agents)


def _by_state(states: dict[str, int]) -> str:
    ordered = sorted(states.items(), key=lambda item: (_rank(item[0]), item[0]))
    return ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in ordered)


def _rank(state: str) -> int:
    return AGENT_ORDER.index(state) if state in AGENT_ORDER else len(AGENT_ORDER)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole} s"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _abandoned(today: dict[str, Any]) -> str:
    if not today.get("offered"):
        return "-"
    return f"{today['abandoned']} ({today['abandon_rate']:.0%})"


@group.command("agent")
def agent(
    agent_id: Annotated[str, typer.Argument(help="The agent's id in the configuration")],
    state: Annotated[str, typer.Argument(help=f"One of: {', '.join(AGENT_COMMANDS)}")],
    reason: Annotated[str | None, typer.Option(help="Why not ready: break, lunch …")] = None,
    data_dir: DataDir = None,
) -> None:
    """Log an agent in or out, or make them ready / not ready."""
    from touchpoint.services.contact_center import agent_state

    with opened(data_dir) as tp:
        now = agent_state(tp, agent_id, state, reason)
    show.console.print(f"agent {show.plain(agent_id)} is {now}")


@group.command("tick")
def tick(data_dir: DataDir = None) -> None:
    """Let time act: expired offers back in line, wrap-ups over, waiting contacts offered."""
    from touchpoint.services.contact_center import tick as run_tick

    with opened(data_dir) as tp:
        offered = run_tick(tp)
    show.console.print(f"{offered} contact{'s' if offered != 1 else ''} offered")
