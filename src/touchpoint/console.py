"""Rich rendering for the CLI: customer 360, lists, stage counts, import and report tables.

Everything that came from outside (names, traits, campaigns, agents, error messages) is printed
through `plain` (Rich's `escape`), so a name like "[bold]x" is shown, not interpreted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from touchpoint.domain.surveys import survey_answers

if TYPE_CHECKING:
    from touchpoint.analytics.reports import ReportResult
    from touchpoint.domain.consent import ConsentChange
    from touchpoint.ingest.report import IngestReport
    from touchpoint.services.customers import (
        CustomerSummary,
        CustomerView,
        StageTransition,
        TimelineEntry,
    )
    from touchpoint.services.lifecycle import LifecycleSummary

console = Console()
errors = Console(stderr=True)


def plain(value: Any) -> str:
    """Outside data as literal text in Rich markup."""
    return escape(str(value))


def error(message: str, *, kind: str = "error") -> None:
    """One red line on stderr: how every failure reaches a user."""
    errors.print(f"[red]{kind}:[/] {plain(message)}", soft_wrap=True, highlight=False)


def import_report(report: IngestReport, seconds: float, *, show_rejected: int = 20) -> None:
    table = Table(title="Import", show_header=False)
    table.add_row("accepted", f"{report.accepted:,}")
    table.add_row("duplicates (already stored)", f"{report.duplicates:,}")
    if report.conflicts:
        table.add_row("conflicts (id stored, other content)", f"{len(report.conflicts):,}")
    table.add_row("rejected", f"{len(report.rejected):,}")
    table.add_row("time", f"{seconds:.1f} s ({_rate(report.total, seconds)} rows/s)")
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {plain(warning)}", soft_wrap=True, highlight=False)
    refused = sorted(report.rejected + report.conflicts, key=lambda item: item.position)
    rejected = ((item.position, item.reason or "") for item in refused)
    rejected_rows(rejected, len(refused), show_rejected, what="rows")


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds > 0 else "-"


def rejected_rows(rows: Iterable[tuple[int, str]], count: int, show: int, *, what: str) -> None:
    """The first `show` rejected lines of a file, with their reasons."""
    if not count:
        return
    table = Table(title=f"Rejected {what} (first {min(show, count)})")
    table.add_column("line", justify="right")
    table.add_column("reason")
    for n, (line, reason) in enumerate(rows):
        if n >= show:
            break
        table.add_row(str(line), plain(reason))
    console.print(table)


def customer_view(view: CustomerView, consent: Iterable[ConsentChange] = ()) -> None:
    lines = [
        f"[bold]{plain(view.name or '(no name)')}[/]  {plain(view.id)}",
        f"email {plain(view.email or '-')}   phone {plain(view.phone or '-')}   "
        f"external id {plain(view.external_id or '-')}",
        f"{view.interaction_count:,} interactions, first {when(view.first_seen_at)}, "
        f"last {when(view.last_seen_at)}, revenue {view.revenue:,.2f}",
    ]
    lifecycle = view.lifecycle
    if lifecycle.stage:
        lines.append(
            f"stage [bold]{plain(lifecycle.stage)}[/] since {when(lifecycle.since)} "
            f"({plain(lifecycle.model)})"
        )
    if view.requested_id != view.id:
        lines.append(f"[yellow]{plain(view.requested_id)} was merged into this customer[/]")
    console.print(Panel("\n".join(lines), title="Customer"))
    identities = Table(title="Identities")
    for column in ("kind", "value", "first seen"):
        identities.add_column(column)
    for identity in view.identities:
        identities.add_row(
            plain(identity.kind), plain(identity.value), when(identity.first_seen_at)
        )
    console.print(identities)
    if view.merged_from:
        merges = Table(title="Merged profiles")
        for column in ("merge", "customer", "merged at", "linked by"):
            merges.add_column(column)
        for merge in view.merged_from:
            linked = merge.linking_key or f"({merge.cause})"
            merges.add_row(
                str(merge.merge_id), plain(merge.customer_id), when(merge.merged_at), plain(linked)
            )
        console.print(merges)
    if view.traits:
        traits = Table(title="Traits", show_header=False)
        for key, value in sorted(view.traits.items()):
            traits.add_row(plain(key), plain(value))
        console.print(traits)
    consent_table(consent)
    if lifecycle.history:
        console.print(stage_history(lifecycle.history))
    console.print(timeline(view.timeline))
    if view.next_cursor:
        console.print(f"older interactions: --cursor '{plain(view.next_cursor)}'")


def consent_table(changes: Iterable[ConsentChange]) -> None:
    """The consent in force, one row per channel and purpose (nothing when none was given)."""
    rows = list(changes)
    if not rows:
        return
    table = Table(title="Consent")
    for column in ("channel", "purpose", "status", "since", "said by"):
        table.add_column(column)
    for change in rows:
        status = "[green]granted[/]" if change.status == "granted" else "[red]withdrawn[/]"
        table.add_row(
            plain(change.channel), plain(change.purpose), status, when(change.occurred_at),
            plain(change.source),
        )  # fmt: skip
    console.print(table)


def customer_list(
    rows: list[CustomerSummary], *, total: int, offset: int, stage: str | None
) -> None:
    where = f"in stage {plain(stage)}" if stage else "all"
    if not rows:
        console.print(f"No customers {where}." if total == 0 else "No customers on this page.")
        return
    table = Table(title=f"Customers ({where}): {offset + 1:,}–{offset + len(rows):,} of {total:,}")
    table.add_column("id", no_wrap=True)  # whole, to copy into `customer show`
    table.add_column("name")
    table.add_column("email")
    table.add_column("stage")
    table.add_column("last seen", no_wrap=True)
    table.add_column("revenue", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            plain(row.id),
            plain(row.name or ""),
            plain(row.email or row.phone or ""),
            plain(row.stage or "-"),
            row.last_seen_at.date().isoformat() if row.last_seen_at else "",
            f"{row.revenue:,.2f}",
        )
    console.print(table)


def stage_history(rows: Iterable[StageTransition]) -> Table:
    table = Table(title="Lifecycle stage history")
    for column in ("when", "from", "to", "why", "interaction"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            when(row.at),
            plain(row.from_stage or "-"),
            f"[bold]{plain(row.to_stage)}[/]",
            plain(row.reason),
            plain(row.interaction_id or "(time passed)"),
        )
    return table


def stage_counts(title: str, summary: LifecycleSummary) -> Table:
    total = sum(s.customers for s in summary.stages) or 1
    table = Table(title=title)
    table.add_column("stage")
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    for count in summary.stages:
        n = count.customers
        table.add_row(plain(count.stage), f"{n:,}", f"{n / total:.1%}", "█" * round(30 * n / total))
    return table


def timeline(rows: Iterable[TimelineEntry]) -> Table:
    table = Table(title="Timeline (newest first)")
    for column in ("when", "channel", "dir", "type", "detail", "revenue"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            when(row.occurred_at),
            plain(row.channel),
            plain(row.direction[:3]),
            plain(row.type),
            plain(_detail(row)),
            f"{row.revenue:,.2f}" if row.revenue is not None else "",
        )
    return table


def _detail(row: TimelineEntry) -> str:
    parts = [row.name]
    parts += [
        f"{k}={getattr(row, k)}"
        for k in ("campaign", "source", "keyword", "agent", "queue", "outcome")
        if getattr(row, k)
    ]
    if row.duration_s is not None:
        parts.append(f"{row.duration_s:.0f}s")
    parts += [f"{name}={value}" for name, value in survey_answers(row.properties).items()]
    return " ".join(p for p in parts if p)


def rich_table(result: ReportResult) -> Any:
    """An analytics report for people (a Rich renderable): the columns
    `analytics.output.table_columns` names (ids and totals stay in CSV and JSON), cells as
    `human_rows` formats them, fitted to the width it is drawn at, and under the table the notes
    as a small two-column table ("label: text" -> label | text)."""
    from rich.console import Group

    table = _AtWidth(lambda width: _report_table(result, width))
    return Group(table, _notes_grid(result.notes)) if result.notes else table


class _AtWidth:
    """A renderable built for the width it is drawn at."""

    def __init__(self, build: Any) -> None:
        self.build = build

    def __rich_console__(self, _console: Console, options: Any) -> Any:
        yield self.build(options.max_width)


def _report_table(result: ReportResult, width: int) -> Table:
    from touchpoint.analytics.output import human_rows, numeric_columns, table_columns

    columns = table_columns(result)
    rows = human_rows(result, columns)
    kinds = {f.name: str(f.type) for f in result.table.schema}
    whole = {c for c in columns if kinds[c].startswith(("int", "double", "date32"))}
    labels = [name.replace("_", " ") for name in columns]
    widths = _fitted_widths(labels, rows, [c in whole for c in columns], width)
    table = Table(title=plain(result.title))
    numeric = numeric_columns(result)
    for i, name in enumerate(columns):
        # Numbers and dates never wrap; headers and times wrap at their words; a long text
        # value (an email) folds rather than losing its end to an ellipsis.
        table.add_column(
            plain(labels[i]),
            justify="right" if name in numeric else "left",
            overflow="ellipsis" if name in whole else "fold",
            width=widths[i] if widths else None,
        )
    for cells in rows:
        table.add_row(*map(plain, cells))
    return table


def _fitted_widths(
    labels: list[str], rows: list[list[str]], whole: list[bool], width: int
) -> list[int] | None:
    """Column widths for a table wider than `width`: numbers and dates (`whole`) get their
    longest cell; text columns a dozen characters or their longest word (they fold, a time
    wraps after its date), then eight if room is short; each column its longest header word
    while that fits (else the header is cut, not the data); the room left goes to the text
    columns as they need it. Rich alone squeezes every column alike, cutting numbers short.
    None when the table fits as it is, or cannot fit."""
    cells = list(zip(*rows, strict=True)) if rows else [() for _ in labels]
    longest = [max([len(h), *map(len, c)]) for h, c in zip(labels, cells, strict=True)]
    room = width - (3 * len(labels) + 1)  # borders and one space either side of each cell
    if sum(longest) <= room:
        return None
    for headers, fold in ((True, 12), (False, 12), (False, 8)):
        least = []
        for label, column, keep, big in zip(labels, cells, whole, longest, strict=True):
            need = max(map(len, column), default=1) if keep else _text_least(column, fold)
            if headers:
                need = max(need, _longest_word([label]))
            least.append(max(1, min(need, big)))
        spare = room - sum(least)
        if spare >= 0:
            return _share(least, longest, whole, labels, spare)
    return None


def _share(
    least: list[int], longest: list[int], whole: list[bool], labels: list[str], spare: int
) -> list[int]:
    """Room left over: first to the number columns' header words (the shortest gap first, so
    as many headers as possible read whole), then to the text columns as they need it."""
    widths = list(least)
    gaps = sorted(
        (max(_longest_word([label]) - w, 0), i)
        for i, (label, w, keep) in enumerate(zip(labels, widths, whole, strict=True))
        if keep
    )
    for gap, i in gaps:
        if 0 < gap <= spare:
            widths[i] += gap
            spare -= gap
    wants = [0 if k else b - a for a, b, k in zip(widths, longest, whole, strict=True)]
    total = sum(wants) or 1
    return [a + spare * w // total for a, w in zip(widths, wants, strict=True)]


def _text_least(column: Iterable[str], fold: int) -> int:
    """A text column's least width: its longest word up to `fold` (longer words fold), but a
    whole date (ten characters, as in a timestamp) never folds."""
    words = [word for text in column for word in text.split()]
    dated = any(len(w) == 10 and w[4:5] == "-" and w[7:8] == "-" for w in words)
    return max(min(_longest_word(column), fold), 10 if dated else 1)


def _longest_word(texts: Iterable[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


NOTE_LABEL_MAX = 32  # a longer "label:" is a sentence with a colon, not a label


def _notes_grid(notes: list[str]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for note in notes:
        label, colon, text = note.partition(": ")
        if colon and len(label) <= NOTE_LABEL_MAX:
            grid.add_row(plain(label), plain(text))
        else:
            grid.add_row("", plain(note))
    return grid


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
