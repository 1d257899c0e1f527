"""The system of record's engine the analytics read it with (the copy's marks, the model in
force, the contact center's configuration and history): one per database for the process's life,
not one per report. Creating an engine and its first connection costs about 4 ms, and an
analytics request read through four of them."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import Engine

from touchpoint.settings import Settings
from touchpoint.store.engine import make_engine

KEPT = 4  # databases a process reads analytics of at once (tests open many, one at a time)

_engines: OrderedDict[tuple[object, ...], Engine] = OrderedDict()
_lock = threading.Lock()


def read_engine(settings: Settings) -> Engine:
    """The engine for `settings`' system of record, made on first use and kept; the least
    recently used beyond KEPT is disposed of (its pooled connections closed)."""
    key = (
        settings.resolved_database_url(),
        settings.pool_size,
        settings.pool_max_overflow,
        settings.pool_timeout_seconds,
    )
    with _lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            return engine
        engine = _engines[key] = make_engine(settings)
        while len(_engines) > KEPT:
            _, old = _engines.popitem(last=False)
            old.dispose()
        return engine
