"""The demo campaigns' spend for the demo's own window: the shipped sample (DEMO_SPEND, one row
per campaign and month over 18 months) moved so that its months are the generated months."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from touchpoint.demo import DEMO_SPEND
from touchpoint.demo.generator import months_before

SAMPLE_MONTHS = 18


def write_demo_spend(path: Path, *, end: datetime, sample: Path = DEMO_SPEND) -> Path:
    """Write the sample's spend to `path`, its k-th month dated on the first day of the k-th month
    of the 18 months before `end` (the sample's first month is month 0); returns `path`."""
    with sample.open(newline="") as source:
        rows = list(csv.DictReader(source))
    first = min(date.fromisoformat(row["date"]) for row in rows)
    starts = [months_before(end, SAMPLE_MONTHS - k).date() for k in range(SAMPLE_MONTHS)]
    fields = list(rows[0]) if rows else ["date"]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        for row in rows:
            day = date.fromisoformat(row["date"])
            month = (day.year - first.year) * 12 + day.month - first.month
            writer.writerow(row | {"date": starts[month].isoformat()})
    return path
