"""Claim (issue 12): staffing answers at once for any size of center — a plan asks it for every
queue and interval of a week (3 queues x 336 half hours = 1,008 questions) — and agrees with
pyworkforce. Per traffic level, the time for the required agents (80/20, AHT 180 s):

- ours, Erlang C (domain.erlang.required_agents), beside pyworkforce 0.5.1's
  ErlangC.required_positions in the same run (and a check that both give the same agents);
- ours, Erlang A with a patience of 120 s (pyworkforce 0.5.1 has none).

    uv run python bench/staffing.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pyworkforce.queuing import ErlangC
from rich.console import Console
from rich.table import Table

from touchpoint.domain import erlang

AHT_S = 180.0
TRAFFIC = (1.0, 10.0, 100.0, 1_000.0, 5_000.0)


def _ms(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    result = work()
    started = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - started) / repeat * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    table = Table(title="Required agents for 80/20, AHT 180 s (milliseconds per question)")
    for column in (
        "traffic (E)",
        "agents C",
        "ours C",
        "pyworkforce C",
        "same",
        "agents A",
        "ours A (120 s)",
    ):
        table.add_column(column, justify="right")
    for traffic in TRAFFIC:
        calls = traffic / AHT_S * 1800

        def ours_c(a: float = traffic) -> int:
            return erlang.required_agents(a, aht_s=AHT_S, target=0.8, threshold_s=20).agents

        def theirs_c(n: float = calls) -> int:
            found = ErlangC(transactions=n, aht=3, asa=20 / 60, interval=30)
            return int(found.required_positions(service_level=0.8)["raw_positions"])

        def ours_a(a: float = traffic) -> int:
            return erlang.required_agents(
                a, aht_s=AHT_S, target=0.8, threshold_s=20, patience_s=120
            ).agents

        c_ms, c_agents = _ms(ours_c, args.repeat)
        p_ms, p_agents = _ms(theirs_c, max(1, args.repeat // 4))
        a_ms, a_agents = _ms(ours_a, max(1, args.repeat // 4))
        table.add_row(
            f"{traffic:,.0f}",
            str(c_agents),
            f"{c_ms:.3f}",
            f"{p_ms:.3f}",
            "yes" if c_agents == p_agents else f"no ({p_agents})",
            str(a_agents),
            f"{a_ms:.3f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
