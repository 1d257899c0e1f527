"""Claim: reading an Asterisk queue_log at most doubles what importing the same calls, already in
Touchpoint's own shape, costs: a queue_log import stores ≥ 50% of the calls per CPU second of a JSONL
import of the interactions it yields (the baseline, same run, same machine, fresh SQLite each;
CPU time because on a shared machine wall time mostly measures the neighbours). Reading the
queue_log (about 3 lines a call, ~10 µs of CPU a line here) is the difference: measured 55-80%
on 2 shared cores (100,000 calls: 9,750 against 17,692 calls per CPU second).

    uv run python bench/asterisk.py [--calls 100000] [--seed 7]

The queue_log is generated first (not timed): calls over a day in three queues, each with an
ENTERQUEUE and its end (answered with a CONNECT and sometimes a RINGNOANSWER before it, or an
abandon, a timeout, an exit with a key, a transfer), callers from 20,000 numbers, and agents'
pauses between them. The JSONL baseline is what the reader makes of that file, written out.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from touchpoint.ingest.asterisk import read_queue_log
from touchpoint.runtime import open_touchpoint
from touchpoint.services.imports import import_file
from touchpoint.settings import Settings

START = 1772409600  # 2026-03-02 00:00:00 UTC
QUEUES = ("sales", "support", "retention")
AGENTS = tuple(f"Agent/{1000 + i}" for i in range(60))


def queue_log(calls: int, rng: random.Random) -> str:
    """`calls` calls' lines (and an agent's pause every 50 calls), in time order per call."""
    lines: list[tuple[int, str]] = []
    for n in range(calls):
        at = START + rng.randrange(86_400 - 3_600)
        callid, queue = f"{at}.{n}", rng.choice(QUEUES)
        caller = f"212555{rng.randrange(20_000):04d}"[:10]
        lines.append((at, f"{at}|{callid}|{queue}|NONE|ENTERQUEUE||{caller}|1"))
        wait = int(rng.expovariate(1 / 25))
        fate = rng.random()
        if fate < 0.75:
            agent = rng.choice(AGENTS)
            if rng.random() < 0.1:
                lines.append((at + 1, f"{at + 1}|{callid}|{queue}|{agent}|RINGNOANSWER|15000"))
            talk = 30 + int(rng.expovariate(1 / 180))
            connect, end = at + wait, at + wait + talk
            lines.append((connect, f"{connect}|{callid}|{queue}|{agent}|CONNECT|{wait}|x.1|3"))
            event = rng.choice(("COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER"))
            data = f"{wait}|{talk}|1"
            if event == "BLINDTRANSFER":
                data = f"2000|from-internal|{data}"
            lines.append((end, f"{end}|{callid}|{queue}|{agent}|{event}|{data}"))
        else:
            event = rng.choice(("ABANDON", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY"))
            data = f"1|1|{wait}" if event != "EXITWITHKEY" else f"1|1|1|{wait}"
            lines.append((at + wait, f"{at + wait}|{callid}|{queue}|NONE|{event}|{data}"))
        if n % 50 == 0:
            lines.append((at, f"{at}|NONE|{queue}|{rng.choice(AGENTS)}|PAUSE|break"))
    lines.sort(key=lambda line: line[0])
    return "".join(text + "\n" for _, text in lines)


def timed_import(path: Path, file_format: str, data_dir: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process (the import is one process on SQLite; on a
    shared machine the CPU time is the steadier of the two) and calls stored."""
    tp = open_touchpoint(Settings(data_dir=data_dir))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = import_file(tp, path, file_format=file_format)
        return time.perf_counter() - started, time.process_time() - cpu, report.accepted
    finally:
        tp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log_path, jsonl_path = root / "queue_log", root / "calls.jsonl"
        text = queue_log(args.calls, random.Random(args.seed))
        log_path.write_text(text)
        rows = read_queue_log(io.BytesIO(text.encode()))
        jsonl_path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for _, row in rows))
        warm = root / "warm_queue_log"  # load every module and engine once, untimed
        warm.write_text(queue_log(20, random.Random(0)))
        timed_import(warm, "asterisk-queue-log", root / "w")
        ours = timed_import(log_path, "asterisk-queue-log", root / "a")
        base = timed_import(jsonl_path, "jsonl", root / "b")
    table = Table(title=f"Import of {args.calls:,} queued calls (SQLite, projections caught up)")
    columns = ("file", "lines / rows", "calls stored", "wall s", "CPU s", "calls per CPU s")
    for column in columns:
        table.add_column(column, justify="right")
    for name, lines, (wall, cpu, stored) in (
        ("queue_log", text.count("\n"), ours),
        ("JSONL of the same calls (baseline)", args.calls, base),
    ):
        table.add_row(
            name, f"{lines:,}", f"{stored:,}", f"{wall:.1f}", f"{cpu:.1f}", f"{stored / cpu:,.0f}"
        )
    console = Console()
    console.print(table)
    ratio = (ours[2] / ours[1]) / (base[2] / base[1])
    console.print(f"queue_log at {ratio:.0%} of the baseline's calls per CPU second (claim: ≥ 50%)")


if __name__ == "__main__":
    main()
