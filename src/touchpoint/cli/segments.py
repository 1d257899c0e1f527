"""`touchpoint segment create|preview|list|show|members|export|delete`: saved segments and their
live members from the terminal, on the same services as the API (docs/segments.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.segments import SegmentView

group = typer.Typer(
    help="Segments: saved rules over traits, stage, consent, scores and behaviour, with live "
    "members. Rules are written in the segment language (docs/segments.md), e.g. "
    "'purchased >= 2 times in last 90 days and not consent email'.",
    no_args_is_help=True,
)

RuleText = Annotated[
    str | None,
    typer.Argument(
        help="The rule in the segment language (quote it); or give --file", show_default=False
    ),
]
RuleFile = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="Read the rule from a file: .json for the JSON form, anything else the language",
        exists=True,
        dir_okay=False,
    ),
]
SegmentKey = Annotated[str, typer.Argument(help="The segment's name or id (seg_…)")]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="segment")


def _rule(text: str | None, file: Path | None) -> str | dict[str, Any]:
    if (text is None) == (file is None):
        raise ValidationError("give the rule either as an argument or with --file, not both")
    if file is None:
        assert text is not None
        return text
    content = file.read_text(encoding="utf-8")
    if file.suffix.lower() != ".json":
        return content
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"{file}: not JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(document, dict):
        raise ValidationError(f"{file}: the JSON form of a rule is an object")
    return document


@group.command("preview")
def preview(rule: RuleText = None, file: RuleFile = None, data_dir: DataDir = None) -> None:
    """How many customers a rule holds for now, before saving it."""
    from touchpoint.services.segments import preview as count

    with opened(data_dir) as tp:
        found = count(tp, rule=_rule(rule, file))
    show.console.print(f"{found.members} customers match now ({show.when(found.at)}); not saved.")


@group.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name of your choosing (unique)")],
    rule: RuleText = None,
    file: RuleFile = None,
    data_dir: DataDir = None,
) -> None:
    """Save a segment; its members are evaluated at once and kept current from then on."""
    from touchpoint.services.segments import create_segment

    with opened(data_dir) as tp:
        view = create_segment(tp, name=name, rule=_rule(rule, file), actor=cli_actor())
    show.console.print(f"Segment {show.plain(view.name)} ({view.id}): {view.members} members.")


@group.command("list")
def list_segments(data_dir: DataDir = None) -> None:
    """Every segment with its members now."""
    from touchpoint.services.segments import list_segments as listed

    with opened(data_dir) as tp:
        views = listed(tp)
    table = Table(title=f"Segments ({len(views)})")
    for column in ("name", "id", "members", "rule", "evaluated"):
        table.add_column(column, justify="right" if column == "members" else "left")
    for view in views:
        table.add_row(
            show.plain(view.name),
            view.id,
            f"{view.members:,}",
            show.plain(_rule_text(view)),
            show.when(view.evaluated_at),
        )
    show.console.print(table)


@group.command("show")
def show_segment(
    segment: SegmentKey,
    days: Annotated[int, typer.Option(min=1, help="Counts over the last N days")] = 30,
    data_dir: DataDir = None,
) -> None:
    """One segment: its rule (and JSON form), members now, and its counts over time."""
    from touchpoint.services.segments import counts, get_segment

    with opened(data_dir) as tp:
        view = get_segment(tp, segment)
        points = counts(tp, segment, days=days)
    show.console.print(f"[bold]{show.plain(view.name)}[/bold] ({view.id})")
    show.console.print(f"rule: {show.plain(_rule_text(view))}")
    show.console.print(f"json: {show.plain(json.dumps(view.rule_json))}")
    show.console.print(f"members: {view.members:,} as of {show.when(view.evaluated_at)}")
    if view.next_due:
        show.console.print(f"windows next roll: {show.when(view.next_due)}")
    table = Table(title=f"Days with a change (last {days})")
    for column in ("day", "entered", "left", "members"):
        table.add_column(column, justify="left" if column == "day" else "right")
    for point in points:
        table.add_row(
            point.day.isoformat(), str(point.entered), str(point.left), str(point.members)
        )
    show.console.print(table)


@group.command("members")
def members(
    segment: SegmentKey,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    after: Annotated[str | None, typer.Option(help="Start after this customer id")] = None,
    data_dir: DataDir = None,
) -> None:
    """A page of the segment's members (by customer id) with their contact details."""
    from touchpoint.services.segments import members as page_of

    with opened(data_dir) as tp:
        page = page_of(tp, segment, after=after, limit=limit, contact_details=True)
    table = Table(title=f"Members ({page.total:,})")
    for column in ("customer", "entered", "name", "email", "phone"):
        table.add_column(column)
    for m in page.items:
        table.add_row(
            m.customer_id,
            show.when(m.entered_at),
            show.plain(m.name or "-"),
            show.plain(m.email or "-"),
            show.plain(m.phone or "-"),
        )
    show.console.print(table)
    if page.next_after:
        show.console.print(f"more: --after {page.next_after}")


@group.command("export")
def export(
    segment: SegmentKey,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write", dir_okay=False)],
    data_dir: DataDir = None,
) -> None:
    """Write every member to a CSV file (customer id, entered, name, email, phone)."""
    from rich.progress import Progress

    from touchpoint.services.segments import export_members, get_segment

    with opened(data_dir) as tp:
        total = get_segment(tp, segment).members
        with (
            out.open("w", newline="", encoding="utf-8") as handle,
            Progress(console=show.console, transient=True) as bar,
        ):
            task = bar.add_task("exporting", total=total)
            written = export_members(
                tp,
                segment,
                handle,
                contact_details=True,
                actor=cli_actor(),
                on_row=lambda n: bar.update(task, completed=n),
            )
    show.console.print(f"{written:,} members written to {show.plain(str(out))}")


@group.command("delete")
def delete(
    segment: SegmentKey,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete a segment, its members and its history."""
    from touchpoint.services.segments import delete_segment

    if not yes:
        typer.confirm(f"Delete segment {segment!r} and its history?", abort=True)
    with opened(data_dir) as tp:
        view = delete_segment(tp, segment, actor=cli_actor())
    show.console.print(f"Deleted {show.plain(view.name)} ({view.members:,} members).")


def _rule_text(view: SegmentView) -> str:
    return view.rule if view.rule is not None else json.dumps(view.rule_json)
