"""Engine creation for the embedded SQLite default and PostgreSQL, plus the write-transaction rule.

Writers serialise: SQLite takes its write lock up front (BEGIN IMMEDIATE) and PostgreSQL takes one
transaction-scoped advisory lock, so two concurrent ingests never both create a customer for the
same identity (see docs/decisions.md).
"""

from __future__ import annotations

import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc

from touchpoint.settings import Settings

INGEST_LOCK_ID = 0x70C4  # arbitrary constant: the advisory lock ingesting writers share in PG
WRITER_WAIT_SECONDS = 60.0  # SQLite's busy_timeout below: the longest a writer waits its turn

# Every SQLite connection's settings. WAL with synchronous=NORMAL survives an application crash
# (only an OS crash or power loss can drop the last commits, never corrupt the file). The default
# 2 MB page cache is far smaller than the log's indexes, whose random keys (client event ids,
# customer ids) touch a different page per row; 64 MB is allocated only as pages are used.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA journal_size_limit=67108864",  # a WAL grown by a bulk import shrinks back to 64 MB
)
# A bulk import's connection, while it imports: each batch dirties about one page per row in each
# random-key index, so a bigger cache rereads fewer pages, and checkpointing every ~400 MB of WAL
# instead of every 4 MB copies (and fsyncs) a page rewritten by many batches once, not each time.
SQLITE_BULK_PRAGMAS = {"cache_size": -262144, "wal_autocheckpoint": 100_000}


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    # A bounded pool with a bounded wait: a request that cannot get a connection in time fails
    # with SQLAlchemy's TimeoutError, which the API answers 503 with Retry-After (see is_busy).
    pool = {
        "pool_size": settings.pool_size,
        "max_overflow": settings.pool_max_overflow,
        "pool_timeout": settings.pool_timeout_seconds,
    }
    if url.startswith("sqlite"):
        _owner_only_file(settings.sqlite_path())
        if settings.sqlite_path() is None:  # in memory: SQLAlchemy's own single-connection pool
            pool = {}
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"timeout": 60, "check_same_thread": False},
            **pool,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_pre_ping=True,
        **pool,
    )


# SQLSTATEs meaning "busy, try again": lock_not_available, too_many_connections,
# cannot_connect_now (PostgreSQL's error codes appendix).
_BUSY_SQLSTATES = frozenset({"55P03", "53300", "57P03"})


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "busy, retry later" rather than a fault: the pool's wait
    ran out, SQLite stayed locked past busy_timeout, PostgreSQL refused a lock or a connection."""
    if isinstance(error, sa_exc.TimeoutError):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if getattr(error.orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def _owner_only_file(path: Path | None) -> None:
    """Create a new SQLite file (and its folder) readable by its owner only: it holds personal
    data. SQLite gives its -wal and -shm files the database file's permissions; an empty file
    is a valid new database. Existing files and folders keep the permissions they have."""
    if path is None or path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite recipe in the SQLAlchemy docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        if str(engine.url) in _checkpointed:  # a checkpointer thread does it, not the COMMIT
            cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_SAFETY_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("touchpoint_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class WriterQueue:
    """The turn to write to one SQLite database, handed out in arrival order (FIFO).

    SQLite's busy handler makes a waiting writer sleep and retry, so a writer that arrives while
    the lock is free takes it ahead of those asleep: under load a lookup's short write waited
    seconds behind a stream of ingest batches. Inside one process the writers queue here
    instead and each BEGIN IMMEDIATE finds the lock free (other processes still meet SQLite's
    busy handler). Re-entrant for the thread holding the turn. A wait longer than `timeout` is
    SQLAlchemy's TimeoutError, which the API answers 503 (see `is_busy`)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._owner: int | None = None
        self._depth = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._acquire(me)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, me: int) -> None:
        with self._lock:
            if self._owner is None and not self._waiting:
                self._owner = me
                return
            called = threading.Event()
            self._waiting.append(called)
        if called.wait(self.timeout):
            self._owner = me  # handed over by _release, in arrival order
            return
        with self._lock:
            if called in self._waiting:
                self._waiting.remove(called)
                raise sa_exc.TimeoutError(f"waited {self.timeout:g} s for the turn to write")
        self._owner = me  # handed over just as the wait ran out

    def held_here(self) -> bool:
        return self._owner == threading.get_ident()

    def idle(self) -> bool:
        """No writer holds the turn nor waits for it (a hint: it may change at once)."""
        with self._lock:
            return self._owner is None and not self._waiting

    def _release(self) -> None:
        with self._lock:
            if self._waiting:
                self._owner = -1  # held, until the next in line takes it
                self._waiting.popleft().set()
            else:
                self._owner = None


# --- checkpoints outside the COMMIT ------------------------------------------------------------

# SQLite's automatic checkpoint runs inside the COMMIT that grows the WAL past 1,000 pages: that
# writer copies the WAL into the database and fsyncs it while every other writer waits (a
# server's ingest batch took 24 ms to commit, on average, mostly this). A server runs them on a
# thread of their own instead (PASSIVE: never waits for a reader or a writer, nor makes one
# wait); the automatic one stays as a safety net at a much larger WAL.
CHECKPOINT_EVERY_S = 0.5
CHECKPOINT_SAFETY_PAGES = 50_000  # ~200 MB of WAL: only if the thread cannot keep up
# Databases whose checkpoints a thread runs, with how many checkpointing() blocks hold each: two
# in one process (a server's and its tests', a worker's and the runtime's) share one URL, and
# the first to end must not turn checkpoints back on under the other.
_checkpointed: Counter[str] = Counter()


@contextmanager
def checkpointing(
    engine: Engine, every_s: float = CHECKPOINT_EVERY_S, *, thread: bool = True
) -> Iterator[None]:
    """While the block runs, this process's connections to the SQLite file leave checkpoints
    to a background thread that runs one every `every_s` seconds (a no-op on PostgreSQL).
    `thread=False`: another process's thread runs them (the scheduler's worker beside a server)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield
        return
    key = str(engine.url)
    _checkpointed[key] += 1
    engine.dispose()  # connections made from now on take the pragma
    stop = threading.Event()

    def run() -> None:
        while thread and not stop.wait(every_s):
            try:
                with engine.connect() as conn:
                    driver = conn.connection.driver_connection
                    assert driver is not None
                    driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sa_exc.SQLAlchemyError:  # busy or closing: the next round tries again
                continue

    checkpointer = threading.Thread(target=run, name="touchpoint-checkpoint", daemon=True)
    checkpointer.start()
    try:
        yield
    finally:
        stop.set()
        checkpointer.join(timeout=10)
        _checkpointed[key] -= 1
        if _checkpointed[key] <= 0:
            del _checkpointed[key]
            engine.dispose()  # connections made from now on checkpoint on COMMIT again


# --- riders: small writes carried by the next write transaction --------------------------------


class _Rider:
    __slots__ = ("write", "done", "error")

    def __init__(self, write: Callable[[Connection], None]) -> None:
        self.write = write
        self.done = threading.Event()
        self.error: BaseException | None = None


_riders: dict[str, deque[_Rider]] = {}
_riders_lock = threading.Lock()
RIDER_POLL_S = 0.02


def ride(engine: Engine, write: Callable[[Connection], None]) -> None:
    """Run `write` in a write transaction and return once it is committed — the next one that
    commits on this SQLite file, whoever began it (group commit). A small write (a read's audit
    entry) thus waits for the transaction in progress to end, not for its own turn behind every
    ingest batch queued before it; with no writer at work it takes a turn itself. Each rider runs
    in a savepoint: one that fails is undone alone and its caller gets the error, the carrying
    transaction goes on. PostgreSQL: a transaction of its own (writers do not queue there)."""
    queue = writer_queue(engine)
    if queue is None:
        with engine.begin() as conn:
            write(conn)
        return
    if queue.held_here():
        raise RuntimeError("ride() inside a write transaction would wait for itself")
    rider = _Rider(write)
    key = str(engine.url)
    with _riders_lock:
        _riders.setdefault(key, deque()).append(rider)
    while not rider.done.is_set():
        if not queue.idle():
            rider.done.wait(RIDER_POLL_S)
            continue
        try:
            with write_transaction(engine):
                pass  # boarding happens at its commit
        except BaseException:
            with _riders_lock:  # not written: the caller gets the error, nobody writes it later
                waiting = _riders.get(key)
                if waiting is not None and rider in waiting:
                    waiting.remove(rider)
                    raise
            rider.done.wait()  # another writer has it on board: its outcome is the answer
    if rider.error is not None:
        raise rider.error


def _board(conn: Connection) -> list[_Rider]:
    """Write the riders waiting on this database into the transaction about to commit."""
    with _riders_lock:
        waiting = _riders.get(str(conn.engine.url))
        if not waiting:
            return []
        boarding = list(waiting)
        waiting.clear()
    for rider in boarding:
        try:
            with conn.begin_nested():
                rider.write(conn)
        except Exception as exc:  # noqa: BLE001 - handed to the rider's caller
            rider.error = exc
    return boarding


def _unboard(conn: Connection, riders: list[_Rider]) -> None:
    """The carrying transaction did not commit: the riders wait for the next one."""
    if not riders:
        return
    with _riders_lock:
        waiting = _riders.setdefault(str(conn.engine.url), deque())
        waiting.extendleft(reversed(riders))


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The FIFO of writers to this engine's SQLite file, shared by every engine of the process
    on that file; None for PostgreSQL, whose advisory lock queues its waiters itself."""
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url)
    with _queues_lock:
        found = _queues.get(key)
        if found is None:
            found = _queues[key] = WriterQueue(timeout=WRITER_WAIT_SECONDS)
        return found


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the single-writer lock for identity resolution. The turn is taken
    before a connection is checked out, so waiting writers do not hold the pool's connections."""
    queue = writer_queue(engine)
    with queue.turn() if queue else nullcontext(), engine.connect() as conn:
        with transaction(conn) as locked:
            yield locked


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """`write_transaction` on a connection already checked out (see `bulk_connection`)."""
    queue = writer_queue(conn.engine)
    with queue.turn() if queue else nullcontext():
        conn.execution_options(touchpoint_write=True)
        riders: list[_Rider] = []
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": INGEST_LOCK_ID})
                yield conn
                if queue is not None:
                    riders = _board(conn)
        except BaseException:
            _unboard(conn, [r for r in riders if r.error is None])
            for rider in riders:
                if rider.error is not None:
                    rider.done.set()
            raise
        for rider in riders:
            rider.done.set()


@contextmanager
def bulk_connection(engine: Engine) -> Iterator[Connection]:
    """One connection for a whole import, tuned for it on SQLite (see SQLITE_BULK_PRAGMAS) and
    restored afterwards, with the WAL checkpointed once at the end."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        saved = {
            name: driver.execute(f"PRAGMA {name}").fetchone()[0] for name in SQLITE_BULK_PRAGMAS
        }
        try:
            for name, value in SQLITE_BULK_PRAGMAS.items():
                driver.execute(f"PRAGMA {name}={value}")
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            for name, value in saved.items():
                driver.execute(f"PRAGMA {name}={value}")
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
