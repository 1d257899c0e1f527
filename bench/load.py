"""Claim (issue 9 §5): `touchpoint serve` on the embedded default takes >= 5,000 events/s of
Segment batches from 8 concurrent clients at p99 < 500 ms with zero errors, with customer lookups
alongside at p99 < 100 ms, and loses or doubles nothing it acknowledged.

    uv run python bench/load.py [--ingest-clients 4] [--lookup-clients 4] [--routing-clients 2]
                                [--seconds 30] [--lookup-rate 25] [--batch 100] [--people 20000]

A real server: a fresh data directory made by `touchpoint init`, one API key per client made by
`touchpoint keys create`, `touchpoint serve` on a free loopback port in its own process. Each
ingest client (a thread with its own keep-alive connection) posts `POST /v1/batch` of `--batch`
Segment messages back to back: identify and track calls of its own share of `--people` users
(it is their SDK), each message a new messageId, dated up to 10 s before it is sent as an SDK's
queue holds it, each user's in the order they happened but 1% up to a day late. Each lookup
client asks `GET /v1/customers?email=` for a user already identified, `--lookup-rate` times a
second (0: back to back). Each routing client is a telephony front end with one agent of its
own queue (the configuration applied by `touchpoint cc config apply`): it offers a call from a
known customer (`POST /v1/cc/contacts`), the router reserves it for its agent, who accepts and
completes it — three requests a contact, back to back, each in the router's one transaction and
the ended contact written to the log. All stop after `--seconds`. Then the server is stopped and the log is
read: every messageId the server acknowledged (accepted or duplicate in a 200) must be stored
exactly once.

The clients run on the same 2-core machine as the server and take CPU from it (JSON encoding,
HTTP): the figures are a floor for a server on its own machine.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the dev group's httpx (Starlette's test client wants httpx2)
import orjson
from rich.console import Console
from rich.table import Table

from served import TOUCHPOINT, free_port, make_key, percentile, run_cli, wait_until_up

LATE_SHARE = 0.01  # messages dated up to a day back (a phone that was offline); else < 10 s
EVENTS = ("Product Viewed", "Product Added", "Order Completed", "Signed Up", "Email Opened")
# issue 9 §5, measured before this work: (baseline, goal) per figure.
AGAINST = {
    "ingest events/s": ("~930 (4+4 clients); ~1,800 with 1 client alone", ">= 5,000 (8 clients)"),
    "ingest p99 ms": ("~3,000 (4+4 clients); 228 with 1 client alone", "< 500"),
    "lookup p99 ms": ("-", "< 100"),
    "errors": ("0", "0"),
}


@dataclass
class Tally:
    """One client's record: latencies (s) of answered requests, errors by kind, acknowledged
    message ids."""

    latencies: list[float] = field(default_factory=list)
    events: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    acked: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-clients", type=int, default=4)
    parser.add_argument("--lookup-clients", type=int, default=4)
    parser.add_argument(
        "--routing-clients", type=int, default=2, help="front ends offering calls to the router"
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--lookup-rate",
        type=float,
        default=25.0,
        help="lookups a second per lookup client (0: back to back)",
    )
    parser.add_argument("--batch", type=int, default=100, help="messages per /v1/batch")
    parser.add_argument("--people", type=int, default=20_000, help="distinct users")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    console = Console(width=120)
    root = Path(tempfile.mkdtemp(prefix="load-"))
    data_dir = root / "touchpoint-data"
    run_cli("init", "--data-dir", str(data_dir))
    ingest_keys = [make_key(data_dir, "ingest") for _ in range(args.ingest_clients)]
    read_keys = [make_key(data_dir, "read") for _ in range(args.lookup_clients)]
    routing_keys = [make_key(data_dir, "manager") for _ in range(args.routing_clients)]
    if args.routing_clients:
        center = root / "center.toml"
        center.write_text(center_config(args.routing_clients))
        run_cli("cc", "config", "apply", str(center), "--data-dir", str(data_dir))
    port = free_port()
    server_log = root / "server.log"
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [TOUCHPOINT, "serve", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=log,
            stderr=log,
            env={**os.environ, "NO_COLOR": "1"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        identified = seed_people(base, ingest_keys[0], args.people)
        console.print(
            f"server on {base}, data in {data_dir}; {identified:,} users identified up front; "
            f"running {args.ingest_clients} ingest + {args.lookup_clients} lookup + "
            f"{args.routing_clients} routing clients for {args.seconds:g} s…"
        )
        ingest, lookup, routing, elapsed = run_clients(
            base, ingest_keys, read_keys, routing_keys, args
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    lost, doubled, stored = check_log(data_dir / "touchpoint.db", ingest)
    print_results(console, args, ingest, lookup, routing, elapsed, lost, doubled, stored)
    if args.keep:
        console.print(f"data and server log kept in {root}")
    else:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def email(person: int) -> str:
    return f"user{person}@example.com"


def seed_people(base: str, key: str, people: int) -> int:
    """Identify every user once before the clock starts, so lookups find someone."""
    identified_at = datetime.now(UTC) - timedelta(hours=1)  # existing customers, before the run
    with httpx.Client(base_url=base, headers=_auth(key), timeout=120) as client:
        for start in range(0, people, 1000):
            batch = [
                _identify(f"seed-{n}", n, identified_at)
                for n in range(start, min(people, start + 1000))
            ]
            answer = client.post("/v1/batch", content=orjson.dumps({"batch": batch}))
            answer.raise_for_status()
    return people


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def _identify(message_id: str, person: int, at: datetime) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": f"u{person}",
        "timestamp": at.isoformat(),
        "traits": {"email": email(person), "firstName": f"User{person}"},
    }


def _track(message_id: str, person: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    event = rng.choice(EVENTS)
    properties: dict[str, Any] = {"sku": f"sku-{rng.randrange(500)}"}
    if event == "Order Completed":
        properties["revenue"] = round(rng.uniform(5, 200), 2)
    return {
        "type": "track",
        "messageId": message_id,
        "userId": f"u{person}",
        "event": event,
        "timestamp": at.isoformat(),
        "properties": properties,
    }


def center_config(agents: int) -> str:
    """One queue per routing client, served by one agent of its own (no wrap-up)."""
    parts = ["[center]\nlease_s = 60\n"]
    for n in range(agents):
        parts.append(f'[queues.q{n}]\nchannels = ["phone"]\n')
        parts.append(
            f'[agents.a{n}]\nteam = "support"\nqueues = ["q{n}"]\nlanguages = ["en"]\n'
            "capacity = { phone = 1 }\n"
        )
    return "".join(parts)


def run_clients(
    base: str,
    ingest_keys: list[str],
    read_keys: list[str],
    routing_keys: list[str],
    args: argparse.Namespace,
) -> tuple[list[Tally], list[Tally], list[Tally], float]:
    ingest = [Tally() for _ in ingest_keys]
    lookup = [Tally() for _ in read_keys]
    routing = [Tally() for _ in routing_keys]
    started = time.monotonic()
    deadline = started + args.seconds
    threads = (
        [
            threading.Thread(target=ingest_client, args=(base, key, i, tally, deadline, args))
            for i, (key, tally) in enumerate(zip(ingest_keys, ingest, strict=True))
        ]
        + [
            threading.Thread(target=lookup_client, args=(base, key, i, tally, deadline, args))
            for i, (key, tally) in enumerate(zip(read_keys, lookup, strict=True))
        ]
        + [
            threading.Thread(target=routing_client, args=(base, key, i, tally, deadline, args))
            for i, (key, tally) in enumerate(zip(routing_keys, routing, strict=True))
        ]
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ingest, lookup, routing, time.monotonic() - started


def routing_client(
    base: str, key: str, index: int, tally: Tally, deadline: float, args: argparse.Namespace
) -> None:
    """Offer, accept, complete, again: `events` counts contacts routed to the end; each
    request's latency is kept."""
    rng = random.Random(args.seed * 3000 + index)
    agent = f"a{index}"
    with httpx.Client(base_url=base, headers=_auth(key), timeout=60) as client:
        for command in ("login", "ready"):
            client.post(f"/v1/cc/agents/{agent}/state", json={"state": command}).raise_for_status()

        def step(path: str, body: dict[str, Any]) -> dict[str, Any] | None:
            began = time.perf_counter()
            try:
                answer = client.post(path, json=body)
            except httpx.HTTPError as exc:
                tally.error(type(exc).__name__)
                return None
            if answer.status_code not in (200, 201):
                tally.error(str(answer.status_code))
                return None
            tally.latencies.append(time.perf_counter() - began)
            return dict(answer.json())

        while time.monotonic() < deadline:
            person = rng.randrange(args.people)
            offered = step(
                "/v1/cc/contacts",
                {"queue": f"q{index}", "channel": "phone", "customer": {"email": email(person)}},
            )
            if offered is None:
                continue
            if offered["status"] != "reserved" or offered["agent"] != agent:
                tally.error(f"not offered to its agent ({offered['status']})")
                continue
            contact = offered["id"]
            if step(f"/v1/cc/contacts/{contact}/accept", {"agent": agent}) is None:
                continue
            if step(f"/v1/cc/contacts/{contact}/complete", {"agent": agent}) is not None:
                tally.events += 1


def ingest_client(
    base: str, key: str, index: int, tally: Tally, deadline: float, args: argparse.Namespace
) -> None:
    rng = random.Random(args.seed * 1000 + index)
    sent = 0
    # Each client is the SDK of its own users (every ingest_clients-th), which sends a user's
    # events in the order they happened, except the late ones.
    mine = range(index, args.people, args.ingest_clients)
    last: dict[int, datetime] = {}
    with httpx.Client(base_url=base, headers=_auth(key), timeout=60) as client:
        while time.monotonic() < deadline:
            now = datetime.now(UTC)
            batch = []
            for _ in range(args.batch):
                person = rng.choice(mine)
                if rng.random() < LATE_SHARE:
                    at = now - timedelta(seconds=rng.uniform(10, 86_400))
                else:
                    at = now - timedelta(seconds=rng.uniform(0, 10))
                    if person in last and at <= last[person]:
                        at = last[person] + timedelta(milliseconds=1)
                    last[person] = at
                message_id = f"load-{index}-{sent}"
                sent += 1
                if rng.random() < 0.1:
                    batch.append(_identify(message_id, person, at))
                else:
                    batch.append(_track(message_id, person, at, rng))
            body = orjson.dumps({"batch": batch, "sentAt": now.isoformat()})
            began = time.perf_counter()
            try:
                answer = client.post("/v1/batch", content=body)
            except httpx.HTTPError as exc:
                tally.error(type(exc).__name__)
                continue
            took = time.perf_counter() - began
            if answer.status_code != 200:
                tally.error(str(answer.status_code))
                continue
            tally.latencies.append(took)
            result = answer.json()
            refused = {r["index"] for r in result["rejected"]}
            if refused:
                tally.error("rejected message")
            tally.acked.extend(m["messageId"] for i, m in enumerate(batch) if i not in refused)
            tally.events += len(batch) - len(refused)


def lookup_client(
    base: str, key: str, index: int, tally: Tally, deadline: float, args: argparse.Namespace
) -> None:
    rng = random.Random(args.seed * 2000 + index)
    interval = 1 / args.lookup_rate if args.lookup_rate > 0 else 0.0
    due = time.monotonic()
    with httpx.Client(base_url=base, headers=_auth(key), timeout=60) as client:
        while time.monotonic() < deadline:
            due += interval  # an open loop: a slow answer does not slow the asking
            time.sleep(max(0.0, due - time.monotonic()))
            person = rng.randrange(args.people)
            began = time.perf_counter()
            try:
                answer = client.get("/v1/customers", params={"email": email(person)})
            except httpx.HTTPError as exc:
                tally.error(type(exc).__name__)
                continue
            took = time.perf_counter() - began
            if answer.status_code != 200 or not answer.json():
                tally.error(str(answer.status_code) if answer.status_code != 200 else "not found")
                continue
            tally.latencies.append(took)
            tally.events += 1


def check_log(db: Path, ingest: list[Tally]) -> tuple[int, int, int]:
    """(acknowledged but not stored, stored more than once, rows of this run) from the log."""
    acked = [m for tally in ingest for m in tally.acked]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.execute("CREATE TEMP TABLE acked (id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO acked VALUES (?)", ((m,) for m in acked))
        counts = dict(
            conn.execute(
                "SELECT a.id, COUNT(i.id) FROM acked a LEFT JOIN interactions i ON i.id = a.id "
                "GROUP BY a.id"
            ).fetchall()
        )
        (stored,) = conn.execute(
            "SELECT COUNT(*) FROM interactions WHERE id LIKE 'load-%'"
        ).fetchone()
    lost = sum(1 for n in counts.values() if n == 0) + (len(acked) - len(counts))
    doubled = sum(1 for n in counts.values() if n > 1)
    return lost, doubled, int(stored)


def print_results(
    console: Console,
    args: argparse.Namespace,
    ingest: list[Tally],
    lookup: list[Tally],
    routing: list[Tally],
    elapsed: float,
    lost: int,
    doubled: int,
    stored: int,
) -> None:
    table = Table(
        title=f"touchpoint serve under load: {args.ingest_clients} ingest + "
        f"{args.lookup_clients} lookup clients ({args.lookup_rate:g}/s each) + "
        f"{args.routing_clients} routing clients, {elapsed:.0f} s, "
        f"{args.batch} events a batch "
        f"(SQLite {sqlite3.sqlite_version})"
    )
    for name in ("kind", "requests", "per second", "p50 ms", "p99 ms", "errors"):
        table.add_column(name, justify="left" if name in ("kind", "errors") else "right")
    measured: dict[str, str] = {}
    total_errors = 0
    for kind, tallies in (("ingest", ingest), ("lookup", lookup), ("routing", routing)):
        if not tallies:
            continue
        latencies = [x for t in tallies for x in t.latencies]
        events = sum(t.events for t in tallies)
        errors: dict[str, int] = {}
        for tally in tallies:
            for what, n in tally.errors.items():
                errors[what] = errors.get(what, 0) + n
        total_errors += sum(errors.values())
        p99 = f"{percentile(latencies, 0.99) * 1000:,.0f}"
        unit = {"ingest": "events", "lookup": "lookups", "routing": "contacts"}[kind]
        rate = f"{events / elapsed:,.0f} {unit}"
        table.add_row(
            kind,
            f"{len(latencies):,}",
            rate,
            f"{percentile(latencies, 0.5) * 1000:,.0f}",
            p99,
            ", ".join(f"{n:,} {w}" for w, n in sorted(errors.items())) or "0",
        )
        measured[f"{kind} p99 ms"] = p99
        if kind == "ingest":
            measured["ingest events/s"] = f"{events / elapsed:,.0f}"
    measured["errors"] = f"{total_errors:,}"
    console.print(table)
    against = Table(title="against the issue")
    for name in ("figure", "measured", "baseline", "goal"):
        against.add_column(name)
    for figure, (baseline, goal) in AGAINST.items():
        against.add_row(figure, measured.get(figure, "-"), baseline, goal)
    console.print(against)
    acked = sum(len(t.acked) for t in ingest)
    verdict = "OK" if lost == doubled == 0 else "FAILED"
    console.print(
        f"log check {verdict}: {acked:,} messages acknowledged, {lost:,} of them not stored, "
        f"{doubled:,} stored twice; {stored:,} rows of this run in the log"
    )


if __name__ == "__main__":
    main()
