"""`touchpoint cc config apply|show`, `cc live`, `cc agent`, `cc tick`: the contact center from
the terminal — its configuration (a TOML file of queues, agents and routing rules), the live
picture of queues and agents, and agents' states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
