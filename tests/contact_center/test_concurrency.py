"""Exactly one assignment, capacity never exceeded: many threads, and several processes, offer
contacts and act as agents (ready, accept, complete) at once on one center, on SQLite and on
PostgreSQL, while a reader checks every committed state it sees."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from touchpoint.errors import Conflict
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services import contact_center as service
from touchpoint.settings import Settings
from touchpoint.store import contact_center as store
from touchpoint.store.engine import read_connection
from touchpoint.store.tables import cc_contacts, cc_events

AGENTS = ("a1", "a2", "a3", "a4")
CONFIG = '[center]\nlease_s = 30\n[queues.chat]\nchannels = ["chat"]\n' + "".join(
    f'[agents.{a}]\nqueues = ["chat"]\ncapacity = {{ chat = 2 }}\n' for a in AGENTS
)
ROUNDS = 12


def act(tp: Touchpoint, worker: int, rounds: int) -> None:
    """Offer a chat, then, as one agent, accept what is offered to it and end some of it."""
    agent = AGENTS[worker % len(AGENTS)]
    service.agent_state(tp, agent, "login")
    service.agent_state(tp, agent, "ready")
    for n in range(rounds):
        service.offer(tp, queue="chat", channel="chat", identity={"external_id": f"w{worker}-{n}"})
        with read_connection(tp.engine) as conn:
            mine = [
                (row["id"], row["status"])
                for row in store.contacts_in(conn, ("reserved", "assigned"))
                if row["agent"] == agent
            ]
        for contact_id, status in mine:
            try:
                if status == "reserved":
                    service.accept(tp, contact_id, agent)
                elif n % 2:
                    service.complete(tp, contact_id, agent)
            except Conflict:  # another worker acting as the same agent got there first
                pass


def check(tp: Touchpoint, stop: threading.Event, seen: list[str]) -> None:
    while not stop.is_set():
        with read_connection(tp.engine) as conn:
            loads = store.loads(conn, ("reserved", "assigned"))
        for agent, load in loads.items():
            if sum(load.values()) > 2:
                seen.append(f"{agent} holds {load}")


def _process(settings_json: str, worker: int) -> None:
    tp = open_touchpoint(Settings.model_validate_json(settings_json))
    try:
        act(tp, worker, ROUNDS)
    finally:
        tp.close()


def test_threads_and_processes_never_double_assign_or_overfill(
    tp: Touchpoint, settings: Settings, tmp_path: Path
) -> None:
    service.apply_config(tp, text=CONFIG, actor="test")
    over: list[str] = []
    stop = threading.Event()
    checker = threading.Thread(target=check, args=(tp, stop, over))
    checker.start()
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(target=_process, args=(settings.model_dump_json(), 10 + i)) for i in range(2)
    ]
    for process in processes:
        process.start()
    threads = [threading.Thread(target=act, args=(tp, i, ROUNDS)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    stop.set()
    checker.join()
    assert over == []
    with read_connection(tp.engine) as conn:
        accepted = Counter(
            row[0]
            for row in conn.execute(
                select(cc_events.c.contact_id).where(cc_events.c.kind == "accepted")
            )
        )
        contacts = conn.execute(select(cc_contacts)).mappings().all()
        loads = store.loads(conn, ("reserved", "assigned"))
    assert len(contacts) == (6 + 2) * ROUNDS  # every offer made one contact
    assert accepted and max(accepted.values()) == 1  # no contact accepted twice
    assert all(sum(load.values()) <= 2 for load in loads.values())
    # Every contact is accounted for: in line, offered, in progress or ended.
    assert {c["status"] for c in contacts} <= {"waiting", "reserved", "assigned", "completed"}
