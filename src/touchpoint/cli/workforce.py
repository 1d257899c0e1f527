"""`touchpoint cc staffing`, `cc forecast`, `cc plan`: workforce planning from the terminal —
agents needed for a volume and a target (Erlang C, Erlang A with patience), contacts per
interval forecast from the log's history with its backtest, and next week's staffing plan with a
shift cover. Commands of the `cc` group (cli.contact_center)."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.contact_center import group
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.staffing import Staffing

FORMATS = ("table", "json")


def register(_app: typer.Typer) -> None:
    """The commands join the `cc` group, which cli.contact_center registers."""


def _check_format(output: str) -> None:
    if output not in FORMATS:
        raise ValidationError(f"--format: one of {', '.join(FORMATS)}; got {output!r}")


@group.command("staffing")
def staffing(
    volume: Annotated[float, typer.Option(help="Contacts offered per interval")],
    aht: Annotated[float, typer.Option(help="Average handle time, seconds")],
    interval: Annotated[str, typer.Option(help="The interval's length: 15m, 30m, 1h")] = "30m",
    target: Annotated[
        str, typer.Option(help="Service-level target PERCENT/SECONDS: 80/20 = 80% within 20 s")
    ] = "80/20",
    shrinkage: Annotated[
        float, typer.Option(help="Share of paid time off the phones (breaks, training): 0.3")
    ] = 0.0,
    max_occupancy: Annotated[
        float, typer.Option(help="Most of their time agents may spend on contacts: 0.85")
    ] = 1.0,
    patience: Annotated[
        float | None,
        typer.Option(help="Callers' mean patience before hanging up, seconds: Erlang A"),
    ] = None,
    agents: Annotated[
        int | None, typer.Option(help="Ask the reverse: what this many agents achieve")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Agents needed for a volume and a service-level target (Erlang C; Erlang A with
    --patience), raw and with shrinkage, and the service level, probability of waiting, ASA and
    occupancy they achieve. With --agents, what that many agents achieve. Fewer agents than the
    traffic (in Erlangs) without --patience: "unstable: queue grows without bound"."""
    from touchpoint.services.staffing import answer, question

    _check_format(output)
    result = answer(
        question(
            volume=volume,
            interval=interval,
            aht=aht,
            target=target,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            patience=patience,
            agents=agents,
        )
    )
    if output == "json":
        body = dataclasses.asdict(result)
        if patience is None:
            body.pop("abandon_rate")
        show.console.print_json(json.dumps(body))
        return
    _staffing_table(result)


def _staffing_table(result: Staffing) -> None:
    title = f"Staffing ({result.model}, {result.traffic_erlangs:.2f} Erlangs)"
    table = Table(title=title, show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    if not result.stable:
        table.add_row("agents", str(result.agents))
        table.add_row("result", result.note or "")
        show.console.print(table)
        return
    fractional = (
        f" ({result.agents_fractional:.2f})" if result.agents_fractional is not None else ""
    )
    table.add_row("agents", f"{result.agents}{fractional}")
    table.add_row(
        "with shrinkage",
        f"{result.agents_with_shrinkage} ({result.agents_with_shrinkage_fractional:.2f})",
    )
    target = f"{result.target:.0%} within {result.threshold_s:g} s"
    table.add_row(f"service level ({target})", f"{result.service_level:.2%}")
    table.add_row("probability of waiting", f"{result.wait_probability:.2%}")
    table.add_row("average speed of answer", f"{result.asa_s:.1f} s")
    table.add_row("occupancy", f"{result.occupancy:.1%}")
    if result.abandon_rate is not None:
        table.add_row("abandoned", f"{result.abandon_rate:.2%}")
    if result.meets_target is False:
        table.add_row("meets the target", "no")
    show.console.print(table)
