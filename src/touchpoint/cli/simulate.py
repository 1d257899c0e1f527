"""`touchpoint cc simulate`: a day of the contact center simulated on the configuration in force
and the log's history, the baseline beside each what-if (a TOML scenario file, or flags for one
what-if), with 95% confidence intervals over replications. A command of the `cc` group."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.contact_center import group
from touchpoint.cli.options import DataDir, opened
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.simulation import Estimate, SimulationResult

FORMATS = ("table", "json")
INTERVALS = {"15m": 900.0, "30m": 1800.0, "60m": 3600.0, "1h": 3600.0}
_FEWER = re.compile(r"^\s*(\d+)\s*(?:@\s*(\d{1,2}:\d\d)\s*-\s*(\d{1,2}:\d\d))?\s*$")


def register(_app: typer.Typer) -> None:
    """The command joins the `cc` group, which cli.contact_center registers."""


@group.command("simulate")
def simulate(
    scenario: Annotated[
        Path | None,
        typer.Option(help="A TOML file of what-ifs, one scenario table each, beside the baseline"),
    ] = None,
    volume: Annotated[float | None, typer.Option(help="What-if: contacts × this, e.g. 1.2")] = None,
    aht_delta: Annotated[
        float | None, typer.Option(help="What-if: handle time + this many seconds, e.g. 20")
    ] = None,
    fewer_agents: Annotated[
        str | None, typer.Option(help="What-if: N agents off duty, e.g. '3@14:00-18:00'")
    ] = None,
    add_agent: Annotated[
        str | None,
        typer.Option(help="What-if: one more agent like the first, speaking these languages: es"),
    ] = None,
    at_risk_priority: Annotated[
        int | None, typer.Option(help="What-if: at-risk customers' contacts get this priority")
    ] = None,
    replications: Annotated[int, typer.Option(help="Simulated days per scenario")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same figures")] = 1,
    weekday: Annotated[
        str | None, typer.Option(help="The day to simulate: mon … sun (default: the busiest)")
    ] = None,
    interval: Annotated[str, typer.Option(help="Arrival rates per 15m, 30m or 60m")] = "30m",
    arrivals: Annotated[
        str,
        typer.Option(help="Arrival rates from: history (weekday × interval means) or forecast"),
    ] = "history",
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Simulate a day: arrivals per queue and interval from the log's history (Poisson), handle
    times (lognormal) and patience (exponential, censored by answered waits) fitted from it,
    routed by the configuration's own policy. Prints, per scenario, the service level
    (Asterisk's SL), ASA, abandonment, occupancy, at-risk customers who waited past the target
    and the churn that implies, each with its 95% confidence interval."""
    from touchpoint.contact_center.simulation_scenarios import parse_scenarios, scenarios_from
    from touchpoint.services.simulation import as_document
    from touchpoint.services.simulation import simulate as run

    if output not in FORMATS:
        raise ValidationError(f"--format: one of {', '.join(FORMATS)}; got {output!r}")
    if interval not in INTERVALS:
        raise ValidationError(f"--interval: one of 15m, 30m, 60m; got {interval!r}")
    scenarios = []
    if scenario is not None:
        try:
            text = scenario.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read {scenario}: {exc}") from None
        scenarios = parse_scenarios(text)
    flagged = _flag_scenario(volume, aht_delta, fewer_agents, add_agent, at_risk_priority)
    if flagged is not None:
        scenarios += scenarios_from({"scenario": [flagged]})
    with opened(data_dir) as tp, _Bar(show_it=output == "table") as bar:
        result = run(
            tp,
            scenarios=scenarios,
            replications=replications,
            seed=seed,
            weekday=weekday,
            interval_s=INTERVALS[interval],
            arrivals=arrivals,
            progress=bar.update,
        )
    if output == "json":
        show.console.print_json(json.dumps(as_document(result)))
        return
    _print(result)


def _flag_scenario(
    volume: float | None,
    aht_delta: float | None,
    fewer: str | None,
    add_agent: str | None,
    at_risk_priority: int | None,
) -> dict[str, Any] | None:
    spec: dict[str, Any] = {}
    names = []
    if volume is not None:
        spec["volume"] = volume
        names.append(f"volume ×{volume:g}")
    if aht_delta is not None:
        spec["aht_delta_s"] = aht_delta
        names.append(f"AHT {aht_delta:+g} s")
    if fewer is not None:
        found = _FEWER.match(fewer)
        if not found:
            raise ValidationError(
                f"--fewer-agents: N or N@HH:MM-HH:MM, e.g. 3@14:00-18:00; got {fewer!r}"
            )
        change: dict[str, Any] = {"count": int(found[1])}
        if found[2]:
            change |= {"from": found[2], "to": found[3]}
        spec["fewer_agents"] = [change]
        names.append(f"{found[1]} fewer agents" + (f" {found[2]}-{found[3]}" if found[2] else ""))
    if add_agent is not None:
        languages = [part.strip() for part in add_agent.split(",") if part.strip()]
        spec["add_agents"] = [{"count": 1, "languages": languages}]
        names.append(f"an agent speaking {', '.join(languages)}")
    if at_risk_priority is not None:
        spec["at_risk_priority"] = at_risk_priority
        names.append(f"at-risk +{at_risk_priority}")
    if not spec:
        return None
    return {"name": ", ".join(names)[:80], **spec}


class _Bar:
    """A progress bar over the replications, on stderr."""

    def __init__(self, *, show_it: bool) -> None:
        self.show_it = show_it
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, total: int) -> None:
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._progress = Progress(
                "simulating days",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=show.errors,
                transient=True,
            )
            self._task = self._progress.add_task("simulate", total=total)
            self._progress.start()
        self._progress.update(self._task, completed=done)


ROWS = (
    ("service level", "service_level", "pct"),
    ("ASA", "asa_s", "s"),
    ("abandonment", "abandon_rate", "pct"),
    ("occupancy", "occupancy", "pct"),
    ("offered", "offered", "n"),
    ("answered", "answered", "n"),
    ("abandoned", "abandoned", "n"),
    ("callbacks", "callbacks", "n"),
    ("at-risk contacts", "at_risk_contacts", "n"),
    ("at-risk over target", "at_risk_over_target", "n"),
    ("expected churn (at-risk)", "expected_churn", "f"),
)


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "pct":
        return f"{value:.1%}"
    if unit == "s":
        return f"{value:.0f} s"
    return f"{value:.1f}" if unit in ("n", "f") else str(value)


def _cell(est: Estimate, unit: str) -> str:
    if est.mean is None:
        return "-"
    text = _value(est.mean, unit)
    if est.low is not None and est.high is not None:
        text += f"\n[dim]{_value(est.low, unit)} – {_value(est.high, unit)}[/dim]"
    return text


def _print(result: SimulationResult) -> None:
    show.console.print(
        f"Simulated {result.weekday} {result.day} ({show.plain(result.time_zone)}), "
        f"{result.replications} replications, seed {result.seed}; "
        f"{result.history_contacts:,} live contacts in the history."
    )
    table = Table(title="Per scenario: mean and 95% confidence interval")
    table.add_column("")
    for scenario in result.scenarios:
        table.add_column(show.plain(scenario.name), justify="right")
    for label, name, unit in ROWS:
        table.add_row(label, *(_cell(getattr(s, name), unit) for s in result.scenarios))
    table.add_row("agents on duty", *(str(s.agents) for s in result.scenarios))
    show.console.print(table)
    fits = Table(title="Fitted from the history")
    for column in ("queue", "contacts/day", "handle (mean)", "patience (mean)", "callbacks"):
        fits.add_column(column, justify="left" if column == "queue" else "right")
    for q in result.queues:
        handle = ", ".join(f"{c} {d.mean_s:.0f} s" for c, d in q.handle.items())
        patience = ", ".join(
            f"{c} {'∞' if d.kind == 'infinite' else f'{d.mean_s:.0f} s'}"
            for c, d in q.patience.items()
        )
        fits.add_row(
            show.plain(q.queue),
            f"{q.expected_contacts:.1f}",
            handle,
            patience,
            f"{q.callback_share:.0%}",
        )
    show.console.print(fits)
    if result.churn is not None:
        c = result.churn
        show.console.print(
            f"Churn within {c.window_days} days ({c.population}, {c.contacts:,} contacts): "
            f"{c.over_target:.1%} after waiting over the target, {c.within_target:.1%} within."
        )
    for note in result.notes:
        show.console.print(f"[dim]note: {show.plain(note)}[/dim]")
    show.console.print(f"[dim]{result.events:,} events in {result.wall_s:.1f} s[/dim]")
