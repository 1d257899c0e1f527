"""The scheduler's worker process as `touchpoint serve` runs it: started once the server's data
directory is open, restarted with a back-off (and one line on stderr) if it dies, and stopped
(SIGTERM, then SIGKILL after a grace period) when the server stops. The worker watches its parent
too (`--parent-pid`), so a server killed outright leaves no scheduler behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_S = 60.0  # a worker that ran this long before dying restarts after the first back-off
STOP_GRACE_S = 20.0  # after SIGTERM, the worker finishes its wake-up; then it is killed


class SupervisedWorker:
    """One `touchpoint worker` child process, kept running until `stop`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        say: Callable[[str], None],
        argv: list[str] | None = None,
    ) -> None:
        self.argv = argv or [
            sys.executable,
            "-m",
            "touchpoint.cli",
            "worker",
            "--data-dir",
            str(data_dir.absolute()),
            "--parent-pid",
            str(os.getpid()),
        ]
        self.say = say
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        # A daemon: should the server's main thread end without `stop` (killed between two
        # lines), the process still exits, and its worker, watching its parent, stops too.
        self._thread = threading.Thread(
            target=self._supervise, name="touchpoint-worker-supervisor", daemon=True
        )

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stop.is_set():
                return None
            # its own session: a Ctrl-C in the terminal reaches the server, which stops it
            self._process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, start_new_session=True
            )
            return self._process

    def _supervise(self) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            began = time.monotonic()
            process = self._spawn()
            if process is None:
                return
            code = process.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - began >= HEALTHY_S:
                backoff = FIRST_BACKOFF_S
            self.restarts += 1
            self.say(
                f"The scheduler's worker process exited ({_exit_text(code)}); "
                f"restarting it in {backoff:g} s"
            )
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop supervising and end the worker: SIGTERM, then SIGKILL after `grace` seconds."""
        with self._lock:
            self._stop.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive():  # started, or a SIGTERM came before it could start
            self._thread.join()


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


@contextmanager
def supervised_worker(data_dir: Path, *, say: Callable[[str], None]) -> Iterator[SupervisedWorker]:
    """A supervised worker while the block runs. A SIGTERM to this process ends the block with
    SystemExit (Uvicorn handles the signal while it serves, then raises it again once it has
    stopped; Python's default would end the process before the worker is stopped)."""
    previous = signal.getsignal(signal.SIGTERM)

    def terminated(_sig: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    worker = SupervisedWorker(data_dir, say=say)
    signal.signal(signal.SIGTERM, terminated)
    try:  # a SIGTERM as soon as the handler is in (even inside start) still stops the worker
        worker.start()
        yield worker
    finally:
        worker.stop()
        signal.signal(signal.SIGTERM, previous)


def watch_parent(parent: int, stop: threading.Event, every_s: float = 0.5) -> threading.Thread:
    """Set `stop` once this process's parent is no longer `parent` (it died: we were adopted)."""

    def run() -> None:
        while not stop.wait(every_s):
            if os.getppid() != parent:
                stop.set()

    thread = threading.Thread(target=run, name="touchpoint-parent-watch", daemon=True)
    thread.start()
    return thread


@contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the worker ends after its current wake-up) while the block
    runs, instead of ending the process mid-transaction."""
    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in handled}

    def asked(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in handled:
        signal.signal(sig, asked)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
