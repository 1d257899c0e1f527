"""`touchpoint decide`: try the next best action rules on one visitor, as GET /v1/decide would
answer a widget (by default only looking: nothing is written unless --record)."""

from __future__ import annotations

from typing import Annotated

import typer

from touchpoint import console as show
from touchpoint.cli.options import At, DataDir, From, To, cli_actor, opened


def register(app: typer.Typer) -> None:
    app.command("decide")(decide)
    app.command("decide-report")(decide_report)


def decide(
    anonymous_id: Annotated[
        str | None, typer.Option("--anonymous-id", help="The visitor's anonymous id")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="The customer's id in your systems")
    ] = None,
    email: Annotated[str | None, typer.Option(help="The customer's email")] = None,
    phone: Annotated[str | None, typer.Option(help="The customer's phone, any format")] = None,
    page: Annotated[
        str | None, typer.Option(help="The page now shown: a URL or a path such as /pricing")
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Write the decision shown to the log, as the API does")
    ] = False,
    at: At = None,
    data_dir: DataDir = None,
) -> None:
    """What a chat widget or an agent's screen should do now for one visitor (name them by
    exactly one identity): the action, the rule that fired and why. Rules: the file in
    TOUCHPOINT_DECISION_RULES_FILE, else the shipped ones."""
    from touchpoint.services import decide as service

    identity = {
        "anonymous_id": anonymous_id or "",
        "external_id": external_id or "",
        "email": email or "",
        "phone": phone or "",
    }
    with opened(data_dir) as tp:
        found = service.decide(tp, identity, page=page, record=record, actor=cli_actor(), now=at)
    out = show.console
    if found.rule is None:
        out.print("action: none (no rule fired)")
        return
    out.print(f"action: [bold]{show.plain(found.action)}[/bold]  rule: {show.plain(found.rule)}")
    if found.message:
        out.print(f"message: {show.plain(found.message)}")
    for reason in found.reasons:
        out.print(f"  because {show.plain(reason)}")
    if found.customer_id:
        out.print(f"customer: {show.plain(found.customer_id)}")
    if found.recorded:
        out.print(f"recorded: {show.plain(found.recorded)}")


def decide_report(
    from_: From = None,
    to: To = None,
    within_days: Annotated[
        float, typer.Option(help="A purchase this many days after the first showing converts")
    ] = 7.0,
    data_dir: DataDir = None,
) -> None:
    """Conversion by rule: of the customers each rule was shown to (decision_shown) in the period,
    how many purchased within --within-days; beside it, visitors of the period shown no decision.
    Default period: the last 30 days."""
    from datetime import UTC, datetime, timedelta

    from rich.table import Table

    from touchpoint.services import decide as service

    until = to or datetime.now(UTC)
    since = from_ or until - timedelta(days=30)
    with opened(data_dir) as tp:
        rows = service.effects(tp, since=since, until=until, within_days=within_days)
    table = Table(title=f"Decisions shown {since:%Y-%m-%d} to {until:%Y-%m-%d}")
    for column in ("rule", "customers", "converted", "rate"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for row in rows:
        rate = "-" if row.rate is None else f"{row.rate:.1%}"
        table.add_row(show.plain(row.rule), f"{row.customers:,}", f"{row.converted:,}", rate)
    show.console.print(table)
