"""Rule-based scores on ingest (issue 13): what one single-event batch costs the scores
projection for a customer who already has N interactions — folded on from the stored state (the
append fast path: the event is later than the customer's history and the scores' clock) beside a
late event (earlier than the history: the customer is refolded whole, as every batch was before
the fast path). Wall and CPU milliseconds per batch; the whole ingest's beside them.

    uv run python bench/score_ingest.py [--history 10 2000] [--batches 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from touchpoint.projections.scores import ScoreProjection
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

START = datetime(2025, 1, 1, tzinfo=UTC)
KINDS = ("page_view", "page_view", "email_opened", "product_viewed", "purchase", "email_sent")


def event(n: int, at: datetime, who: str) -> dict[str, Any]:
    kind = KINDS[n % len(KINDS)]
    return {
        "id": f"{who}-{n}",
        "type": kind,
        "channel": "email" if kind.startswith("email") else "web",
        "direction": "outbound" if kind == "email_sent" else "inbound",
        "occurred_at": at.isoformat(),
        "customer": {"email": f"{who}@example.com"},
    }


class Timer:
    """The scores projection's apply, timed (wall and CPU seconds per call)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []
        self.real = ScoreProjection.apply

    def __enter__(self) -> Timer:
        timer = self

        def apply(projection: ScoreProjection, conn: Any, batch: Any) -> None:
            wall, cpu = time.perf_counter(), time.process_time()
            timer.real(projection, conn, batch)
            timer.calls.append((time.perf_counter() - wall, time.process_time() - cpu))

        ScoreProjection.apply = apply  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        ScoreProjection.apply = self.real  # type: ignore[method-assign]


def ms(values: list[float]) -> float:
    return 1000 * sorted(values)[len(values) // 2]  # the median


def run(history: int, batches: int) -> Iterator[tuple[str, float, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        tp = open_touchpoint(Settings(data_dir=Path(folder)))
        try:
            step = timedelta(hours=3)
            past = [event(i, START + i * step, "ann") for i in range(history)]
            tp.ingestor.ingest(enumerate(past), bulk=True)
            tp.projections.catch_up()
            for label, first in (
                ("later event: folded on", START + history * step),
                ("late event: refolded whole", START - timedelta(days=1)),
            ):
                with Timer() as timer:
                    whole = []
                    for b in range(batches):
                        at = first + b * step if "later" in label else first - b * step
                        one = [event(history + b + (0 if "later" in label else batches), at, "ann")]
                        started = time.perf_counter()
                        tp.ingestor.ingest(enumerate(one))
                        whole.append(time.perf_counter() - started)
                walls = [w for w, _ in timer.calls]
                cpus = [c for _, c in timer.calls]
                yield label, ms(walls), ms(cpus), ms(whole)
        finally:
            tp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=[10, 2000])
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    print(f"{'history':>8}  {'batch':<28}{'scores wall':>12}{'CPU':>8}{'whole ingest':>14}")
    for history in args.history:
        for label, wall, cpu, whole in run(history, args.batches):
            print(f"{history:>8,}  {label:<28}{wall:>10.1f}ms{cpu:>6.1f}ms{whole:>12.1f}ms")
    print("(medians per single-event batch; 'scores' is the scores projection's apply alone)")


if __name__ == "__main__":
    main()
