"""Run jobs in a separate Python process, for work that must not share this process's SQLite.

DuckDB's SQLite scanner bundles its own copy of the SQLite library. Two SQLite libraries in one
process do not share their POSIX lock bookkeeping: when one closes a file descriptor on the
database, the kernel drops the locks the other holds on it (sqlite.org/howtocorrupt.html, 2.2.1).
Commits then fail with "locking protocol", readers see "database disk image is malformed", and
another process could write under a lock it no longer sees. So reads of an SQLite system of
record through DuckDB run in a process of their own: multi-process access is what SQLite is built
for.

The worker is `python -m touchpoint.isolation`, started on first use and kept for the life of
this process (starting Python and importing DuckDB costs about a second). Requests and answers
are JSON lines on its stdin and stdout, so it works whatever started this process (a script, a
REPL, a server, pytest). Jobs run one at a time; a worker that dies is started again.
"""

from __future__ import annotations

import atexit
import importlib
import os
import subprocess
import sys
import threading
from typing import IO, Any

import orjson

from touchpoint.errors import BackendError, describe

# The jobs a worker may run: name -> "module:function(payload: dict) -> dict".
JOBS = {
    "read-log": "touchpoint.store.log_columns:read_log_job",
    "refresh-copy": "touchpoint.analytics.columnar:refresh_job",
}
# What each job is, as a failure's message names it.
DOING = {"read-log": "reading the interaction log", "refresh-copy": "the analytics refresh"}


class IsolatedJobError(BackendError):
    """The job failed in the worker (or the worker died); the message is one line: what failed
    and the worker's error."""


class _Worker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None

    def run(self, job: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            process = self._alive()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(orjson.dumps({"job": job, "payload": payload}) + b"\n")
                process.stdin.flush()
                line = process.stdout.readline()
            except OSError:  # a broken pipe: the worker is gone
                line = b""
            if not line:
                self.stop()
                raise IsolatedJobError(f"{DOING[job]} failed: the worker process exited")
            answer: dict[str, Any] = orjson.loads(line)
            if "error" in answer:
                raise IsolatedJobError(f"{DOING[job]} failed: {answer['error']}")
            result: dict[str, Any] = answer["result"]
            return result

    def _alive(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "touchpoint.isolation"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self.process

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()  # the worker ends at end of input
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stdout:
            process.stdout.close()


_worker = _Worker()
atexit.register(_worker.stop)


def in_worker_process(job: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run `job` on `payload` in the isolated worker process and return its answer."""
    if job not in JOBS:
        raise ValueError(f"unknown isolated job {job!r}")
    return _worker.run(job, payload)


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    for line in requests:
        request = orjson.loads(line)
        module, _, name = JOBS[request["job"]].partition(":")
        try:
            function = getattr(importlib.import_module(module), name)
            reply = {"result": function(request["payload"])}
        except Exception as error:  # the caller raises it, with the worker's message
            reply = {"error": describe(error)}
        answers.write(orjson.dumps(reply) + b"\n")
        answers.flush()


if __name__ == "__main__":
    # Answers go out on a private copy of stdout; anything a library prints (to Python's stdout
    # or straight to file descriptor 1) lands on stderr instead of in the protocol.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, protocol)
