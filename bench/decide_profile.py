"""Where one `/v1/decide` costs its CPU: the service call in-process (no HTTP), per request,
beside the customer lookup by email (an indexed read) on the same data.

    uv run python bench/decide_profile.py [--customers 20000] [--calls 2000] [--profile]

The customers are bench/decide.py's (one in ten with three /pricing views in the last ten
minutes), imported the same way; the calls ask for random customers by anonymous id on /pricing
with the shipped rules and the widget's write-behind recording. CPU per call is process time
(the machine is shared: wall times are printed beside it but lie).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from decide import write_customers  # noqa: E402
from served import TOUCHPOINT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    from touchpoint.runtime import open_touchpoint
    from touchpoint.services.customers import find_customers  # noqa: F401  (import cost out)
    from touchpoint.services.decide import decide, shown_writer
    from touchpoint.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="decide-profile-"))
    data = root / "data"
    subprocess.run([TOUCHPOINT, "init", "--data-dir", str(data)], check=True, capture_output=True)
    source = write_customers(root / "customers.jsonl", args.customers)
    subprocess.run(
        [TOUCHPOINT, "import", str(source), "--data-dir", str(data)],
        check=True,
        capture_output=True,
    )
    tp = open_touchpoint(Settings(data_dir=data))
    rng = random.Random(7)
    ask = [rng.randrange(args.customers) for _ in range(args.calls)]

    def calls() -> None:
        for n in ask:
            decide(
                tp, {"anonymous_id": f"anon-{n}"}, page="/pricing", actor="bench", write_behind=True
            )

    for n in ask[:50]:  # warm caches (rules file, compiled statements)
        decide(tp, {"anonymous_id": f"anon-{n}"}, page="/pricing", write_behind=True)
    cpu, wall = time.process_time(), time.perf_counter()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(calls)
    else:
        calls()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    shown_writer(tp).flush() if hasattr(shown_writer(tp), "flush") else None
    print(f"{args.customers:,} customers, {args.calls:,} decide calls in-process")
    print(
        f"CPU per call {1000 * cpu / args.calls:.3f} ms, wall per call "
        f"{1000 * wall / args.calls:.3f} ms (write-behind thread included in CPU)"
    )
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    tp.close()


if __name__ == "__main__":
    main()
