"""`touchpoint survey list|validate|send`: surveys from the terminal — an agent sends one to a
customer after a contact or a ticket, on the same service (and gate) as the API and playbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened

group = typer.Typer(
    help="Surveys: a named list of questions (csat on a 1-5, 1-7 or 1-10 scale, nps 0-10, free "
    "text, a choice such as how_did_you_hear), shipped or in <data dir>/surveys/*.toml. A send "
    "emails a signed link to a form (expiring after the survey's expires_after) and one link per "
    "score of its first scored question; each answer is a survey_response interaction.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="survey")


@group.command("list")
def list_surveys(data_dir: DataDir = None) -> None:
    """Every survey: its questions, how long its links stay open, whether it is marketing."""
    from touchpoint.services.surveys import list_surveys as listed

    with opened(data_dir) as tp:
        views = listed(tp)
    table = Table(title=f"Surveys ({len(views)})")
    for column in ("name", "questions", "expires", "kind"):
        table.add_column(column)
    for view in views:
        table.add_row(
            show.plain(view.name) + (" (shipped)" if view.shipped else ""),
            show.plain("\n".join(view.questions)),
            view.expires_after,
            "transactional" if view.transactional else "marketing",
        )
    show.console.print(table)


@group.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="A survey file (.toml)", dir_okay=False)],
    data_dir: DataDir = None,  # accepted like every command's; a file is checked on its own
) -> None:
    """Check a survey file as a whole; each problem is named with its line."""
    from touchpoint.services.surveys import validate as check

    survey = check(file)
    show.console.print(
        f"{show.plain(file.name)}: survey {show.plain(survey.name)} is valid "
        f"({len(survey.questions)} questions)."
    )


@group.command("send")
def send(
    customer: Annotated[str, typer.Argument(help="The customer's id (cus_…)")],
    survey: Annotated[str, typer.Option(help="The survey's name (touchpoint survey list)")],
    ticket: Annotated[str | None, typer.Option(help="The ticket it is about")] = None,
    contact: Annotated[str | None, typer.Option(help="The contact it is about")] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key (default: the ticket or contact)")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="The agent sending it (default: cli:<your user>)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Email a survey to a customer now, as an agent: consent, quiet hours and caps apply to a
    marketing survey; about the same ticket or contact it is sent once."""
    from touchpoint.services.surveys import send as send_survey

    about = {"ticket_id": ticket, "contact_id": contact}
    with opened(data_dir) as tp:
        sent = send_survey(
            tp,
            customer,
            survey,
            about={k: v for k, v in about.items() if v},
            key=key,
            by="agent",
            actor=agent or cli_actor(),
        )
    what = f"survey {show.plain(sent.survey)} to {show.plain(sent.customer_id)}"
    if sent.status == "sent":
        show.console.print(f"Sent {what} ({show.plain(sent.message_id or '')}).")
    elif sent.status == "suppressed":
        show.console.print(f"Not sent: {what} suppressed ({show.plain(sent.reason or '')}).")
    else:
        show.console.print(f"Already sent: {what} (send {sent.send}); nothing more sent.")
