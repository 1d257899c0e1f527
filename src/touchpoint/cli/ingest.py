"""`touchpoint import FILE`: interactions from CSV or JSONL (gzipped or not), with a progress bar
for the import and one for each projection catching up after it."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened
from touchpoint.cli.projections import catch_up_progress, print_catch_up
from touchpoint.errors import ValidationError


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)


def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/TSV (header row of interaction fields), JSONL, or Asterisk's queue_log or "
            "Master.csv; .gz ok"
        ),
    ],
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="csv, jsonl, asterisk-queue-log or asterisk-cdr (default: from the file name; "
            "*queue_log* and Master.csv are Asterisk's)",
        ),
    ] = None,
    show_rejected: Annotated[int, typer.Option(help="How many rejected rows to list")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Import interactions from a file. Re-importing a file stores nothing twice.

    JSONL lines are interactions in the shape POST /v1/interactions takes, or Segment
    identify/track/page/alias messages. CSV (comma, semicolon or tab separated) columns: id,
    type, channel, direction, occurred_at, email, phone, external_id, anonymous_id, source,
    medium, campaign, keyword, creative, agent, queue, duration_s, outcome, revenue, currency,
    name, properties.X, traits.X, handles.NETWORK; any other column is stored as properties.X
    (as text), with a warning. A row whose id is stored with other content is a conflict:
    reported, nothing stored.

    Asterisk: --format asterisk-queue-log reads app_queue's queue_log (each queued call one
    inbound call with its wait, talk time, agent, queue and outcome, as `queue show` counts
    them); --format asterisk-cdr reads cdr_csv's Master.csv (16, 17, 18 or 21 columns, times in
    UTC). See docs/asterisk.md.
    """
    from touchpoint.services.imports import import_file as import_interactions

    if not file.is_file():
        raise ValidationError(f"no such file: {file}")
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with opened(data_dir, create=True) as tp:
        started = time.perf_counter()
        with (
            Progress(*columns, console=show.errors, transient=True) as bar,
            catch_up_progress() as catching_up,  # then every projection catches up
        ):
            task = bar.add_task("import", total=file.stat().st_size)
            report = import_interactions(
                tp,
                file,
                file_format=file_format,
                on_bytes=partial(bar.advance, task),
                catch_up=False,
            )
            seconds = time.perf_counter() - started
            caught_up = tp.projections.catch_up(catching_up)
    show.import_report(report, seconds, show_rejected=show_rejected)
    print_catch_up(caught_up)
    if (report.rejected or report.conflicts) and not report.accepted and not report.duplicates:
        raise typer.Exit(1)
