"""`touchpoint serve` runs the scheduler in a worker process it supervises: started once the
data directory is open, restarted (one line on stderr) if it dies, stopped with the server —
no process left behind, whether the server is stopped by SIGTERM or Ctrl-C, or killed outright.
Real processes: the server as a user starts it, its children read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import interaction
from tests.projections.test_worker import PLAYBOOK, followed_trait
from touchpoint.runtime import open_touchpoint
from touchpoint.settings import Settings

TOUCHPOINT = str(Path(sys.executable).parent / "touchpoint")
WORKER_ARGS = ["-m", "touchpoint.cli", "worker"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def _workers() -> set[int]:
    """Every live `touchpoint worker` process started by a server (it names its parent)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            line = _cmdline(int(entry.name))
            if line[1:4] == WORKER_ARGS and "--parent-pid" in line and _alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def _workers_of(parent: int) -> set[int]:
    return {pid for pid in _workers() if str(parent) in _cmdline(pid)}


def _until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@contextmanager
def _server(settings: Settings, *flags: str) -> Iterator[subprocess.Popen[str]]:
    data = settings.data_dir
    if not (data / "playbooks").exists():
        (data / "playbooks").mkdir(parents=True)
        (data / "playbooks" / "follow_cart.toml").write_text(PLAYBOOK)
        open_touchpoint(settings).close()  # the data directory exists, as `serve` asks
    env = {**os.environ, "TOUCHPOINT_AUTOMATION_SECRET": "t", "NO_COLOR": "1"}
    env.pop("TOUCHPOINT_DATABASE_URL", None)
    port = str(_free_port())
    argv = [TOUCHPOINT, "serve", "--data-dir", str(data), "--port", port, *flags]
    server = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate(timeout=30)
        for pid in _workers_of(server.pid):  # never leave one behind, even when a test fails
            os.kill(pid, signal.SIGKILL)


def _abandon(settings: Settings, email: str) -> None:
    """An ingest by another process: only the scheduler can answer it with the playbook."""
    tp = open_touchpoint(settings)
    try:
        tp.ingestor.ingest(
            [(0, interaction(type="cart_abandoned", email=email, at=datetime.now(UTC)))]
        )
    finally:
        tp.close()


def test_serve_runs_the_scheduler_in_a_worker_it_restarts_and_stops(
    sqlite_settings: Settings,
) -> None:
    with _server(sqlite_settings) as server:
        assert _until(lambda: len(_workers_of(server.pid)) == 1, 30), server.poll()
        (first,) = _workers_of(server.pid)
        assert os.getpgid(first) != os.getpgid(server.pid)  # Ctrl-C reaches the server only
        _abandon(sqlite_settings, "ann@example.com")
        assert _until(lambda: followed_trait(sqlite_settings, "ann@example.com") == "yes", 30)

        os.kill(first, signal.SIGKILL)  # the worker dies: the server starts another
        assert _until(lambda: _workers_of(server.pid) - {first} != set(), 30)
        assert _workers_of(server.pid) & {first} == set()
        _abandon(sqlite_settings, "bob@example.com")  # and the new one runs the playbooks
        assert _until(lambda: followed_trait(sqlite_settings, "bob@example.com") == "yes", 30)

        (second,) = _workers_of(server.pid)
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 128 + signal.SIGTERM
    assert not _alive(second) and not _workers_of(server.pid)
    lines = [line for line in err.splitlines() if "worker process exited" in line]
    assert len(lines) == 1 and "SIGKILL" in lines[0] and "restarting it in 1 s" in lines[0], err
    assert "Traceback" not in err, err[-2000:]


def test_ctrl_c_stops_the_server_and_its_worker(sqlite_settings: Settings) -> None:
    with _server(sqlite_settings) as server:
        assert _until(lambda: len(_workers_of(server.pid)) == 1, 30), server.poll()
        (child,) = _workers_of(server.pid)
        time.sleep(1.0)  # the app is up and serving (uvicorn handles the signal)
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=60)
    assert server.returncode in (0, 130), err
    assert not _alive(child)
    assert "Traceback" not in err, err[-2000:]


def test_a_worker_whose_server_was_killed_stops_by_itself(sqlite_settings: Settings) -> None:
    with _server(sqlite_settings) as server:
        assert _until(lambda: len(_workers_of(server.pid)) == 1, 30), server.poll()
        (child,) = _workers_of(server.pid)
        server.kill()  # no chance to stop its worker
        server.wait(timeout=30)
        assert _until(lambda: not _alive(child), 10)  # it saw its parent go


def test_several_server_processes_share_one_worker_and_no_scheduler_starts_none(
    sqlite_settings: Settings,
) -> None:
    with _server(sqlite_settings, "--workers", "2") as server:
        assert _until(lambda: len(_workers_of(server.pid)) == 1, 30), server.poll()
        time.sleep(3.0)  # the server processes are up: still one worker
        assert len(_workers_of(server.pid)) == 1
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
        assert not _workers_of(server.pid)
    with _server(sqlite_settings, "--no-scheduler") as server:
        time.sleep(4.0)
        assert server.poll() is None and not _workers_of(server.pid)
        _abandon(sqlite_settings, "cy@example.com")
        time.sleep(2.0)
        assert followed_trait(sqlite_settings, "cy@example.com") is None  # nobody runs playbooks


def test_a_sigterm_as_the_worker_starts_still_stops_it(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`touchpoint demo` prints that it serves, then starts the worker: a SIGTERM right then
    (its handler raises SystemExit wherever the main thread is) once left the worker running
    and the server waiting for it for ever."""
    from touchpoint.cli import supervisor

    started = supervisor.SupervisedWorker.start

    def start_then_signalled(self: supervisor.SupervisedWorker) -> None:
        started(self)
        _until(lambda: self.pid is not None, 30)  # the worker process exists
        raise SystemExit(128 + signal.SIGTERM)  # the handler, run at this line

    monkeypatch.setattr(supervisor.SupervisedWorker, "start", start_then_signalled)
    open_touchpoint(sqlite_settings).close()
    try:
        with (
            pytest.raises(SystemExit),
            supervisor.supervised_worker(sqlite_settings.data_dir, say=lambda _line: None),
        ):
            pytest.fail("the block never runs")
        assert _until(lambda: not _workers_of(os.getpid()), 30)
        assert not any(t.name == "touchpoint-worker-supervisor" for t in threading.enumerate())
    finally:
        for pid in _workers_of(os.getpid()):
            os.kill(pid, signal.SIGKILL)
