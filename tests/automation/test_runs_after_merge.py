"""A playbook run follows its customer through a merge and back through the unmerge, on SQLite
and PostgreSQL: while Bea is merged into Bob her run acts on Bob's profile (the one that now has
her identities, consent and interactions), is listed under Bob, and counts for Bob's re-entry
rule; once the merge is undone it is Bea's again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.automation.test_actions import write
from tests.automation.test_email_runs import record
from tests.automation.test_loyalty_tiers import customer
from tests.builders import interaction
from touchpoint.runtime import Touchpoint
from touchpoint.services import identity, playbooks
from touchpoint.store import automation as store
from touchpoint.store.engine import read_connection

FOLLOW = """name = "follow_cart"
reentry = "once"
[trigger]
interaction = "cart_abandoned"
[[steps]]
wait = "1h"
[[steps]]
set_trait = { name = "cart_followed", value = "yes" }
"""
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def traits(tp: Touchpoint, cid: str) -> dict[str, object]:
    with read_connection(tp.engine) as conn:
        found = store.customer(conn, cid)
    assert found is not None
    return dict(found["traits"] or {})


def test_a_run_acts_on_the_survivor_and_comes_back_with_the_unmerge(tp: Touchpoint) -> None:
    write(tp, "follow_cart", FOLLOW)
    record(tp, interaction(type="signup", email="bob@example.com", at=NOW - timedelta(days=9)))
    record(tp, interaction(type="cart_abandoned", email="bea@example.com", at=NOW))
    bob, bea = customer(tp, "bob@example.com"), customer(tp, "bea@example.com")
    assert playbooks.run(tp, NOW + timedelta(minutes=1)).started == 1  # Bea's run, waiting 1 h
    merge = identity.merge_customers(tp, bea, bob)
    assert merge.survivor_id == bob

    (run,) = playbooks.list_runs(tp, customer_id=bob)  # listed under the survivor
    assert run.customer_id == bob and run.status == "active"
    assert playbooks.list_runs(tp, customer_id=bea) == [playbooks.list_runs(tp)[0]]
    # Bob abandons a cart himself: reentry once, and the person already entered (as Bea)
    record(
        tp,
        interaction(type="cart_abandoned", email="bob@example.com", at=NOW + timedelta(minutes=5)),
    )
    assert playbooks.run(tp, NOW + timedelta(minutes=6)).started == 0

    done = playbooks.run(tp, NOW + timedelta(hours=1, minutes=1))  # the wait is over
    assert done.executed == {"traits_set": 1}, done
    assert traits(tp, bob).get("cart_followed") == "yes"  # the survivor's profile
    (run,) = playbooks.list_runs(tp)
    assert (run.customer_id, run.status) == (bob, "done")

    identity.unmerge(tp, merge.id)
    (run,) = playbooks.list_runs(tp)
    assert run.customer_id == bea  # Bea's run again
    assert playbooks.list_runs(tp, customer_id=bob) == []
    assert [r.id for r in playbooks.list_runs(tp, customer_id=bea)] == [run.id]
