"""What the benches that drive a real `touchpoint serve` share: the CLI beside this Python, a key
made through it, a free loopback port, the wait for the server to answer, and the percentile
they report. Imported by bench/decide.py and bench/load.py (run from bench/, as scripts)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx  # the dev group's httpx (Starlette's test client wants httpx2)

TOUCHPOINT = str(Path(sys.executable).with_name("touchpoint"))


def run_cli(*argv: str) -> str:
    """Run `touchpoint ARGV…`; its output, or exit naming what failed."""
    done = subprocess.run(
        [TOUCHPOINT, *argv], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}
    )
    if done.returncode != 0:
        raise SystemExit(f"touchpoint {' '.join(argv)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def make_key(data_dir: Path, scope: str) -> str:
    """A new API key of `scope`, made by `touchpoint keys create`."""
    out = run_cli("keys", "create", "--scope", scope, "--data-dir", str(data_dir))
    found = re.search(r"\btp_[A-Za-z0-9_-]+", out)
    if found is None:
        raise SystemExit(f"no key in the output of keys create: {out}")
    return found.group(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    """Until the server at `base` answers /health (60 s at the most), or exit if it died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"touchpoint serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("touchpoint serve did not answer /health within 60 s")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` (0.99 for p99) of them at or
    below it; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
