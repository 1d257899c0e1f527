"""Rich rendering for the CLI: summaries, customer 360 and import reports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from touchpoint.ingest.report import IngestReport

console = Console()
errors = Console(stderr=True)


def import_report(report: IngestReport, seconds: float, *, show_rejected: int = 20) -> None:
    table = Table(title="Import", show_header=False)
    table.add_row("accepted", f"{report.accepted:,}")
    table.add_row("duplicates (already stored)", f"{report.duplicates:,}")
    table.add_row("rejected", f"{len(report.rejected):,}")
    rate = report.total / seconds if seconds > 0 else 0.0
    table.add_row("time", f"{seconds:.1f} s ({rate:,.0f} rows/s)")
    console.print(table)
    if report.rejected:
        rejected = Table(title=f"Rejected rows (first {min(show_rejected, len(report.rejected))})")
        rejected.add_column("line", justify="right")
        rejected.add_column("reason")
        for item in report.rejected[:show_rejected]:
            rejected.add_row(str(item.position), item.reason or "")
        console.print(rejected)


def customer_view(view: dict[str, Any]) -> None:
    lines = [
        f"[bold]{view.get('name') or '(no name)'}[/]  {view['id']}",
        f"email {view.get('email') or '-'}   phone {view.get('phone') or '-'}   "
        f"external id {view.get('external_id') or '-'}",
        f"{view['interaction_count']:,} interactions, first {_when(view.get('first_seen_at'))}, "
        f"last {_when(view.get('last_seen_at'))}, revenue {view['revenue']:,.2f}",
    ]
    lifecycle = view["lifecycle"]
    if lifecycle["stage"]:
        lines.append(
            f"stage [bold]{lifecycle['stage']}[/] since {_when(lifecycle['since'])} "
            f"({lifecycle['model']})"
        )
    if view["requested_id"] != view["id"]:
        lines.append(f"[yellow]{view['requested_id']} was merged into this customer[/]")
    console.print(Panel("\n".join(lines), title="Customer"))
    identities = Table(title="Identities")
    for column in ("kind", "value", "first seen"):
        identities.add_column(column)
    for identity in view["identities"]:
        identities.add_row(identity["kind"], identity["value"], _when(identity["first_seen_at"]))
    console.print(identities)
    if view["merged_from"]:
        merges = Table(title="Merged profiles")
        for column in ("customer", "merged at", "linked by"):
            merges.add_column(column)
        for merge in view["merged_from"]:
            merges.add_row(merge["customer_id"], _when(merge["merged_at"]), merge["linking_key"])
        console.print(merges)
    if view["traits"]:
        traits = Table(title="Traits", show_header=False)
        for key, value in sorted(view["traits"].items()):
            traits.add_row(key, str(value))
        console.print(traits)
    if lifecycle["history"]:
        console.print(stage_history(lifecycle["history"]))
    console.print(timeline(view["timeline"]))
    if view["next_cursor"]:
        console.print(f"older interactions: --cursor '{view['next_cursor']}'")


def customer_list(
    rows: list[dict[str, Any]], *, total: int, offset: int, stage: str | None
) -> None:
    where = f"in stage {stage}" if stage else "all"
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
        last_seen = row.get("last_seen_at")
        table.add_row(
            row["id"],
            row.get("name") or "",
            row.get("email") or row.get("phone") or "",
            row.get("stage") or "-",
            last_seen.date().isoformat() if last_seen else "",
            f"{row['revenue']:,.2f}",
        )
    console.print(table)


def stage_history(rows: Iterable[dict[str, Any]]) -> Table:
    table = Table(title="Lifecycle stage history")
    for column in ("when", "from", "to", "why", "interaction"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            _when(row["at"]),
            row["from_stage"] or "-",
            f"[bold]{row['to_stage']}[/]",
            row["reason"],
            row["interaction_id"] or "(time passed)",
        )
    return table


def stage_counts(title: str, counts: list[tuple[str, int]]) -> Table:
    total = sum(n for _, n in counts) or 1
    table = Table(title=title)
    table.add_column("stage")
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    for stage, n in counts:
        table.add_row(stage, f"{n:,}", f"{n / total:.1%}", "█" * round(30 * n / total))
    return table


def timeline(rows: Iterable[dict[str, Any]]) -> Table:
    table = Table(title="Timeline (newest first)")
    for column in ("when", "channel", "dir", "type", "detail", "revenue"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            _when(row["occurred_at"]),
            row["channel"],
            row["direction"][:3],
            row["type"],
            _detail(row),
            f"{row['revenue']:,.2f}" if row["revenue"] is not None else "",
        )
    return table


def _detail(row: dict[str, Any]) -> str:
    parts = [row.get("name")]
    parts += [
        f"{k}={row[k]}"
        for k in ("campaign", "source", "keyword", "agent", "queue", "outcome")
        if row.get(k)
    ]
    if row.get("duration_s") is not None:
        parts.append(f"{row['duration_s']:.0f}s")
    return " ".join(p for p in parts if p)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
