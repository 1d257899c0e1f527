"""Claim (issue 15): every page's data under 300 ms at demo size (5,000 customers, ~190k
interactions). Measures each page's server render — the request through the whole app, the
services and the template, in process (Starlette's TestClient, signed in with the login form,
no network, no browser) — p50 and p99 of wall time, with the CPU time of the process beside it
(the machine is shared: wall time lies under load, CPU time less so), and the p50 CPU time of the
child processes (the isolated worker) during a request. The browser's first
paint is not measured here (tests/web drive Chromium; see the report's "still missing").

    uv run python bench/web.py [--data-dir DIR] [--customers 5000] [--repeat 15]

Without --data-dir the demo's business is generated once into bench-data/web-<customers>
(`touchpoint demo --no-serve`), and reused after.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from touchpoint.api.app import create_app
from touchpoint.errors import Conflict
from touchpoint.runtime import open_touchpoint
from touchpoint.services.users import create_user
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction

USER, PASSWORD = "bench-web", "bench-web-password"
GOAL_MS = 300.0
PAGES = (
    "/app/lifecycle?period=all",
    "/app/lifecycle?period=90d",
    "/app/kpis?period=30d",
    "/app/kpis/table?period=90d",
    "/app/customers",
    "/app/customers?stage=at_risk",
    "/app/customers/{customer}",
    "/app/wallboard",
    "/app/wallboard/live",
    "/app/cohorts",
    "/app/churn",
    "/app/clv",
    "/app/attribution",
    "/app/staffing?volume=100&interval=30m&aht=180",
    "/app/simulate?run=1&replications=1",
    "/app/segments",
    "/app/segments/preview?rule=stage+%3D+at_risk",
    "/app/playbooks",
)


def _data(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    data_dir = Path("bench-data") / f"web-{args.customers}"
    if not (data_dir / "touchpoint.db").exists():
        print(f"generating the demo's business ({args.customers:,} customers) in {data_dir}")
        subprocess.run(
            [str(Path(sys.executable).parent / "touchpoint"), "demo", "--no-serve"]
            + ["--customers", str(args.customers), "--data-dir", str(data_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return data_dir


def _signed_in(client: TestClient) -> None:
    form = client.get("/app/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "no login form"
    answer = client.post(
        "/app/login",
        data={"user": USER, "password": PASSWORD, "csrf": csrf[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]


_TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """CPU seconds so far of this process's child processes still running (the isolated worker
    that refreshes the columnar copy runs reports' refreshes outside process_time); Linux."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        for child in children:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def _time(
    client: TestClient, path: str, repeat: int
) -> tuple[list[float], list[float], list[float], int]:
    client.get(path)  # warm: templates compiled, caches filled, the columnar copy refreshed
    walls, cpus, workers, size = [], [], [], 0
    for _ in range(repeat):
        wall, cpu, worker = time.perf_counter(), time.process_time(), _children_cpu_s()
        answer = client.get(path)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        workers.append((_children_cpu_s() - worker) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        size = len(answer.content)
    return walls, cpus, workers, size


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default=None, help="only pages whose path contains this")
    args = parser.parse_args()
    tp = open_touchpoint(Settings(data_dir=_data(args)))
    try:
        with write_transaction(tp.engine) as conn:
            create_user(conn, name=USER, role="admin", password=PASSWORD)
    except Conflict:
        pass  # made by an earlier run
    client = TestClient(create_app(tp))
    _signed_in(client)
    listed = client.get("/app/customers").text
    customer = listed.split('href="/app/customers/', 1)[1].split('"', 1)[0]
    table = Table(title=f"Server render per page ({args.repeat} requests each, after one warm)")
    columns = ("page", "p50 wall ms", "p99 wall ms", "p50 CPU ms", "p99 CPU ms", "worker CPU ms")
    for column in (*columns, "KB", "goal"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for template in PAGES:
        path = template.format(customer=customer)
        if args.only and args.only not in path:
            continue
        walls, cpus, workers, size = _time(client, path, args.repeat)
        ok = "ok" if _p(walls, 0.5) <= GOAL_MS else "over"
        table.add_row(
            template,
            f"{_p(walls, 0.5):,.0f}",
            f"{_p(walls, 0.99):,.0f}",
            f"{_p(cpus, 0.5):,.0f}",
            f"{_p(cpus, 0.99):,.0f}",
            f"{_p(workers, 0.5):,.0f}",
            f"{size / 1024:,.0f}",
            f"{ok} ({GOAL_MS:.0f})",
        )
    tp.close()
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
