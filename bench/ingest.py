"""Claim: on the embedded default (SQLite), a JSONL import with identity resolution runs at ≥ 50%
of a raw sqlite3 `executemany` of the same rows (run in the same process on the same machine, the
limit), and the projections then catch up at ≥ 300,000 events/s, so import + catch-up of 1M events
takes under 60 s.

    uv run python bench/ingest.py [--n 1000000] [--customers 100000] [--seed 7] [--inline]

`--inline` also times a first import with the projections folded into every batch (the API's
mode), for comparison.

The file is generated first (not timed): ~10 events per customer over several channels, each with
2–3 identities (email, a device's anonymous id, sometimes a phone); some customers browse on a
second device before logging in there, so a later event links two profiles and merges them.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from touchpoint.runtime import open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings
from touchpoint.store.engine import SQLITE_BULK_PRAGMAS, SQLITE_PRAGMAS
from touchpoint.store.tables import interactions

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = 365 * 86_400
DOMAINS = ("example.com", "mail.example.org", "example.net", "corp.example.co.uk")
AREA_CODES = ("212", "305", "415", "512", "617", "646", "702", "773", "206", "303")
AGENTS = tuple(f"agent-{i}" for i in range(40))
CAMPAIGNS = (
    ("google", "cpc", "espresso-machines-search", "espresso machine", "text-a"),
    ("facebook", "paid_social", "autumn-blend", None, "carousel-3"),
    ("newsletter", "email", "weekly-digest", None, None),
    ("bing", "cpc", "brand-search", "bean and burr", "text-brand-b"),
)
PAGES = ("/", "/products/grinders", "/products/espresso-machines", "/subscribe", "/blog/brewing")

# (weight, type, channel, direction); ~10 per customer, signup is added once per customer.
MIX = (
    (30, "page_view", "web", "inbound"),
    (10, "product_viewed", "web", "inbound"),
    (8, "ad_click", "ad", "inbound"),
    (10, "email_sent", "email", "outbound"),
    (8, "email_opened", "email", "inbound"),
    (3, "email_clicked", "email", "inbound"),
    (4, "cart_added", "web", "inbound"),
    (4, "purchase", "web", "inbound"),
    (5, "call", "phone", "inbound"),
    (4, "chat", "chat", "inbound"),
    (3, "sms_sent", "sms", "outbound"),
    (2, "ticket_opened", "email", "inbound"),
    (1, "survey_response", "web", "inbound"),
    (1, "review", "social", "inbound"),
)


@dataclass(slots=True)
class Person:
    email: str
    devices: tuple[str, ...]
    phone: str | None
    login_on_second_device: float  # seconds into the year; before it, device 2 is anonymous


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _person(rng: random.Random, index: int) -> Person:
    email = f"customer.{index}@{DOMAINS[index % len(DOMAINS)]}"
    if index % 3 == 0:
        email = email.title()  # mixed case: normalisation must fold it into the same key
    devices = (_uuid(rng),) + ((_uuid(rng),) if rng.random() < 0.3 else ())
    phone = None
    if rng.random() < 0.4:
        area = rng.choice(AREA_CODES)
        phone = f"+1 ({area}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"
    return Person(email, devices, phone, rng.uniform(0, SPAN_S))


def _identities(rng: random.Random, who: Person, at: float, kind: str) -> dict[str, str]:
    device = rng.choice(who.devices)
    if device == who.devices[-1] and len(who.devices) > 1 and at < who.login_on_second_device:
        return {"anonymous_id": device}  # browsing before logging in: a profile of its own
    ids = {"email": who.email, "anonymous_id": device}
    if who.phone and (kind in ("call", "sms_sent") or rng.random() < 0.2):
        ids["phone"] = who.phone
    return ids


def _details(rng: random.Random, kind: str, channel: str) -> dict[str, Any]:
    if kind in ("page_view", "product_viewed"):
        return {"properties": {"path": rng.choice(PAGES), "ms_on_page": rng.randint(300, 90_000)}}
    if kind == "ad_click" or (channel == "email" and rng.random() < 0.3):
        source, medium, campaign, keyword, creative = rng.choice(CAMPAIGNS)
        attribution = {"source": source, "medium": medium, "campaign": campaign}
        if keyword:
            attribution["keyword"] = keyword
        if creative:
            attribution["creative"] = creative
        return {"attribution": attribution}
    if kind == "purchase":
        order = {"order_id": f"o-{rng.getrandbits(40):x}", "items": rng.randint(1, 4)}
        return {"revenue": round(rng.uniform(9, 900), 2), "currency": "USD", "properties": order}
    if kind == "call":
        return {
            "agent": rng.choice(AGENTS),
            "queue": rng.choice(("sales", "support", "billing")),
            "duration_s": float(rng.randint(20, 1_800)),
            "outcome": rng.choice(("resolved", "callback", "transferred")),
        }
    if kind == "survey_response":
        return {"properties": {"csat": rng.randint(1, 5)}}
    return {}


def generate(path: Path, n: int, n_customers: int, seed: int) -> None:
    """Write ~n interactions of n_customers people as JSONL, in occurred_at order."""
    rng = random.Random(seed)
    weights = [m[0] for m in MIX]
    people = [_person(rng, i) for i in range(n_customers)]
    events: list[tuple[float, int, str, str, str]] = []
    for i in range(n):
        who = i % n_customers if i < n_customers else rng.randrange(n_customers)
        at = rng.uniform(0, SPAN_S)
        if i < n_customers:
            events.append((at, who, "signup", "web", "inbound"))
        else:
            _, kind, channel, direction = rng.choices(MIX, weights)[0]
            events.append((at, who, kind, channel, direction))
    events.sort()
    with path.open("wb") as out:
        for at, who, kind, channel, direction in events:
            person = people[who]
            item: dict[str, Any] = {
                "id": _uuid(rng),
                "type": kind,
                "channel": channel,
                "direction": direction,
                "occurred_at": (START + timedelta(seconds=at)).isoformat(),
                "customer": _identities(rng, person, at, kind),
                **_details(rng, kind, channel),
            }
            if kind == "signup":
                item["traits"] = {"name": f"Customer {who}", "plan": rng.choice(("free", "pro"))}
            out.write(orjson.dumps(item) + b"\n")


def _sqlite_time(value: str) -> str:
    at = datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(sep=" ", timespec="microseconds")


def flat_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The same interactions as plain tuples in the table's column order (customer ids made up)."""
    received = _sqlite_time(datetime.now(UTC).isoformat())
    with path.open("rb") as lines:
        for line in lines:
            item = orjson.loads(line)
            source = item.get("attribution") or {}
            who = item["customer"]
            yield (
                item["id"],
                "cus_" + (who.get("email") or who["anonymous_id"])[:30],
                _sqlite_time(item["occurred_at"]),
                received,
                item["channel"],
                item["direction"],
                item["type"],
                item.get("name"),
                *(source.get(k) for k in ("source", "medium", "campaign", "keyword", "creative")),
                item.get("agent"),
                item.get("queue"),
                item.get("duration_s"),
                item.get("outcome"),
                item.get("revenue"),
                item.get("currency"),
                orjson.dumps(item.get("properties") or {}).decode(),
                orjson.dumps([f"{kind}:{value}" for kind, value in who.items()]).decode(),
            )


def raw_executemany(data_dir: Path, rows: list[tuple[Any, ...]]) -> float:
    """The limit: one executemany of prepared tuples in one transaction, into the same table with
    the same indexes, on a connection set up exactly as a file import's (engine and bulk pragmas)."""
    open_touchpoint(Settings(data_dir=data_dir)).close()  # the same schema, by the same migrations
    columns = [c.name for c in interactions.columns if c.name != "seq"]
    sql = (
        f"INSERT INTO interactions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    db = sqlite3.connect(data_dir / "touchpoint.db", isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        db.execute(pragma)
    for name, value in SQLITE_BULK_PRAGMAS.items():
        db.execute(f"PRAGMA {name}={value}")
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(sql, rows)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # as the import does when it ends
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def timed_import(data_dir: Path, path: Path, console: Console, label: str) -> tuple[float, Any]:
    """A file import as `touchpoint import` runs it, less the catch-up (timed apart)."""
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress("[progress.description]{task.description}", *columns, console=console) as bar:
            task = bar.add_task(label, total=path.stat().st_size)
            started = time.perf_counter()
            report = import_file(tp, path, on_bytes=lambda n: bar.advance(task, n), catch_up=False)
            elapsed = time.perf_counter() - started
    finally:
        tp.close()
    return elapsed, report


def timed_catch_up(data_dir: Path) -> tuple[float, int]:
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        started = time.perf_counter()
        (result,) = tp.projections.catch_up()
        return time.perf_counter() - started, result.events
    finally:
        tp.close()


def timed_inline_import(data_dir: Path, path: Path, console: Console) -> tuple[float, Any]:
    """The same file through the API's mode: the projections folded into every batch."""
    from touchpoint.ingest.files import FILE_BATCH_SIZE, read_jsonl
    from touchpoint.ingest.segment import load_event_map

    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        with path.open("rb") as stream:
            started = time.perf_counter()
            report = tp.ingestor.ingest(
                read_jsonl(stream, load_event_map(None)),
                keep_results=False,
                batch_size=FILE_BATCH_SIZE,
            )
            elapsed = time.perf_counter() - started
    finally:
        tp.close()
    console.print(f"inline import: {elapsed:.1f} s")
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="interactions to import")
    parser.add_argument("--customers", type=int, default=100_000, help="distinct people")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--inline",
        action="store_true",
        help="also time a first import with the projections inline in every batch (API mode)",
    )
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        root = Path(tmp)
        path = root / "interactions.jsonl"
        started = time.perf_counter()
        generate(path, args.n, args.customers, args.seed)
        console.print(
            f"generated {args.n:,} interactions of {args.customers:,} customers "
            f"({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        results: list[tuple[str, int, float]] = []
        data_dir = root / "touchpoint"
        seconds, report = timed_import(data_dir, path, console, "first import")
        if report.rejected:
            raise SystemExit(f"rejected rows, first: {report.rejected[0]}")
        results.append(
            ("import (log + identities; projections deferred)", report.accepted, seconds)
        )
        import_seconds = seconds
        console.print("catching up the projections…")
        seconds, events = timed_catch_up(data_dir)
        assert events == report.accepted, "the catch-up must fold every imported event"
        results.append(("catch-up of the projections (lifecycle)", events, seconds))
        results.append(("import + catch-up", report.accepted, import_seconds + seconds))
        seconds, again = timed_import(data_dir, path, console, "re-import")
        assert again.duplicates == report.accepted, "a re-import must find every row stored"
        results.append(("re-import (all duplicates)", again.duplicates, seconds))
        if args.inline:
            seconds, inline = timed_inline_import(root / "inline", path, console)
            results.append(("import with projections inline (API mode)", inline.accepted, seconds))
        rows = list(flat_rows(path))
        seconds = raw_executemany(root / "raw", rows)
        results.append(("raw sqlite3 executemany (limit)", len(rows), seconds))
    print_table(console, results)


def print_table(console: Console, results: list[tuple[str, int, float]]) -> None:
    raw_rate = results[-1][1] / results[-1][2]
    table = Table(title=f"Ingest on the embedded default (SQLite {sqlite3.sqlite_version})")
    for name in ("path", "rows", "seconds", "rows/s", "% of raw", "goal"):
        table.add_column(name, justify="left" if name == "path" else "right")
    goals = {
        "import (log + identities; projections deferred)": ">= 50% of raw",
        "catch-up of the projections (lifecycle)": ">= 300,000/s",
        "import + catch-up": "< 60 s for 1M",
    }
    for name, rows, seconds in results:
        rate = rows / seconds
        table.add_row(
            name,
            f"{rows:,}",
            f"{seconds:.2f}",
            f"{rate:,.0f}",
            f"{rate / raw_rate:.0%}" if "catch-up" not in name else "",
            goals.get(name, ""),
        )
    console.print(table)


if __name__ == "__main__":
    main()
