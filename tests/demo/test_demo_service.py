"""services.demo: the demo's work as a typed result, its progress reported as it goes, a business
that ends at the moment the demo runs, and a second run that stores nothing twice and reuses the
keys of the first. A refused run stops before anything is written."""

from __future__ import annotations

import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from touchpoint.errors import Conflict, ValidationError
from touchpoint.projections.contract import TickResult
from touchpoint.runtime import Touchpoint, open_touchpoint
from touchpoint.services.demo import DEMO_KEY_SCOPES as SCOPES
from touchpoint.services.demo import DemoResult, run_demo
from touchpoint.services.keys import authenticate
from touchpoint.settings import Settings
from touchpoint.store.engine import read_connection, write_transaction
from touchpoint.store.tables import api_keys, campaign_spend, interactions

NOW = datetime(2026, 6, 1, 12, 30, 15, tzinfo=UTC)  # a fixed run moment: the same business
START = datetime(2024, 12, 1, 12, 30, 15, tzinfo=UTC)  # 18 calendar months before NOW
HOUR = timedelta(hours=1)


@pytest.fixture
def tp(tmp_path: Path) -> Iterator[Touchpoint]:
    touchpoint = open_touchpoint(Settings(data_dir=tmp_path))
    yield touchpoint
    touchpoint.close()


def key_count(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(api_keys)) or 0)


def interaction_count(tp: Touchpoint) -> int:
    with read_connection(tp.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(interactions)) or 0)


@pytest.mark.parametrize("customers", [0, -1])
def test_a_customer_count_below_one_is_refused_before_any_work(
    tp: Touchpoint, customers: int
) -> None:
    with pytest.raises(ValidationError, match=f"customers must be at least 1, not {customers}"):
        run_demo(tp, customers=customers, seed=7, now=NOW)
    assert key_count(tp) == 0


def test_the_demo_returns_what_it_did_and_reports_its_steps(tp: Touchpoint) -> None:
    steps: list[str] = []
    ingested: list[int] = []
    result = run_demo(
        tp, customers=30, seed=3, now=NOW, on_step=steps.append, on_ingested=ingested.append
    )
    assert steps == ["ingest", "clock", "spend", "center", "switchboard", "summary", "analytics"]
    assert sum(ingested) == result.ingest.total == result.ingest.accepted > 0
    assert result.ingest.rejected == []
    with read_connection(tp.engine) as conn:
        for scope, secret in result.keys.items():
            assert authenticate(conn, secret).scope == scope
    with read_connection(tp.engine) as conn:  # the switchboard's contacts, logged by the router
        routed = conn.scalar(
            select(func.count()).select_from(interactions).where(interactions.c.id.like("cc-%"))
        )
    assert result.switchboard is not None and routed >= result.switchboard.offered > 0
    assert sum(n for _, n in result.overview.by_channel) == result.ingest.accepted + routed
    assert result.spend.stored > 0 and result.spend.rejected == []
    assert result.stages.total == result.overview.customers
    assert result.sample is not None and result.sample.interaction_count > 0
    assert result.funnel.name == "funnel"
    assert result.lifecycle_map.is_file() and '"type":"sankey"' in result.lifecycle_map.read_text()


def test_the_demo_leaves_the_tickets_following_the_log_at_its_end(tp: Touchpoint) -> None:
    """The tickets the log names are linked by the demo, not by the first page that shows one
    (a customer's page followed up to 1,000 of them while a user waited)."""
    from touchpoint.services.tickets import LOG_CONSUMER
    from touchpoint.store import projections as checkpoints
    from touchpoint.store.log import last_seq

    run_demo(tp, customers=30, seed=3, now=NOW)
    with read_connection(tp.engine) as conn:
        mark = checkpoints.read_checkpoint(conn, LOG_CONSUMER)
        assert mark is not None and mark.position == last_seq(conn) > 0


def test_a_naive_run_moment_is_refused(tp: Touchpoint) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        run_demo(tp, customers=5, seed=7, now=NOW.replace(tzinfo=None))


# --- a business that ends now, run twice -------------------------------------------------------


@dataclass
class Runs:
    tp: Touchpoint
    first: DemoResult
    keys_after_first: int
    tick_an_hour_later: list[TickResult]
    second: DemoResult
    keys_after_second: int
    tick_200_days_later: list[TickResult]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """A 300-customer demo run at NOW; an hour of time passing; the same demo three days on;
    then 200 days passing."""
    touchpoint = open_touchpoint(Settings(data_dir=tmp_path_factory.mktemp("demo")))
    first = run_demo(touchpoint, customers=300, seed=5, now=NOW)
    keys_after_first = key_count(touchpoint)
    ticked = touchpoint.projections.tick(NOW + HOUR)
    second = run_demo(touchpoint, customers=300, seed=5, now=NOW + timedelta(days=3))
    keys_after_second = key_count(touchpoint)
    much_later = touchpoint.projections.tick(NOW + timedelta(days=200))
    yield Runs(touchpoint, first, keys_after_first, ticked, second, keys_after_second, much_later)
    touchpoint.close()


def test_the_business_ends_at_the_moment_the_demo_runs(runs: Runs) -> None:
    """Events at or after the end are never generated; 300 customers get newsletters every week,
    so the last of them is hours, not days, before it."""
    with read_connection(runs.tp.engine) as conn:
        first, last = conn.execute(
            select(func.min(interactions.c.occurred_at), func.max(interactions.c.occurred_at))
        ).one()
    assert START <= first.replace(tzinfo=UTC) < START + timedelta(days=30)
    assert NOW - timedelta(days=1) < last.replace(tzinfo=UTC) < NOW
    assert (runs.first.start, runs.first.end, runs.first.now) == (START, NOW, NOW)
    assert runs.first.first_run


def test_the_lifecycle_clock_stands_at_the_run_moment(runs: Runs) -> None:
    """An hour after the run, almost nobody is due: the 90- and 180-day inactivity windows of
    ~100 buyers fall due about 100 / (90 × 24) ≈ 0.05 times an hour. 200 days on, every buyer
    who had not churned has (about 30% of 300 people buy; most of them had not churned)."""
    assert runs.first.stages.clock == NOW
    assert moved(runs.tick_an_hour_later) <= 2
    assert moved(runs.tick_200_days_later) >= 30


def moved(results: list[TickResult]) -> int:
    return sum(sum(result.moved.values()) for result in results)


def test_a_second_run_stores_nothing_twice_and_reuses_the_keys(runs: Runs) -> None:
    first, second = runs.first, runs.second
    assert first.keys_created == SCOPES and first.ingest.accepted == first.ingest.total > 5_000
    assert second.end == NOW and not second.first_run  # the first run's business, regenerated
    assert second.ingest.accepted == 0 and second.ingest.conflicts == []
    assert second.ingest.duplicates == first.ingest.total
    assert second.keys == first.keys and second.keys_created == ()
    assert runs.keys_after_first == runs.keys_after_second == len(SCOPES)
    assert second.stages.clock == NOW + timedelta(days=3)  # time went on, the business did not


def test_the_web_apps_demo_user_signs_in_and_is_kept_for_the_next_run(runs: Runs) -> None:
    """The demo makes a manager for the web app, its password kept beside the keys (0600): the
    password signs in, the second run reuses it, and one user exists."""
    from touchpoint.services import users

    first, second = runs.first.user, runs.second.user
    assert first["name"] == "demo" and len(first["password"]) >= 12
    assert second == first
    assert first["password"] in runs.first.state_file.read_text()
    with read_connection(runs.tp.engine) as conn:
        user = users.verify(conn, first["name"], first["password"])
        assert user.role == "manager"
        assert [u.name for u in users.list_users(conn)] == ["demo"]


def test_the_demo_configures_its_contact_center_once(runs: Runs) -> None:
    from touchpoint.services.contact_center import config_document

    center = config_document(runs.tp)
    assert center["version"] == 1  # the second run found it in force and applied nothing
    assert sorted(center["queues"]) == ["retention", "sales", "support"]
    teams = Counter(agent["team"] for agent in center["agents"].values())
    assert teams == {"sales": 10, "retention": 4, "support": 26}  # as demo.people builds them
    assert [r["team"] for r in center["rules"] if r["team"]] == ["retention"]


def test_the_demo_makes_one_paused_win_back_campaign_of_its_customers_at_risk(runs: Runs) -> None:
    from touchpoint.services import outbound

    made = outbound.campaigns(runs.tp)
    assert [(c.name, c.queue, c.status) for c in made] == [
        ("Win back the at-risk", "retention", "paused")  # once, though the demo ran twice
    ]
    at_risk = {s.stage: s.customers for s in runs.first.stages.stages}["at_risk"]
    assert 0 < made[0].records["open"] <= at_risk  # those with a number to call
    records = outbound.campaign(runs.tp, made[0].id).records
    assert records and all(r.phone.startswith("+") and r.attempts == 0 for r in records)


def test_every_agent_in_the_demos_history_is_one_of_its_configured_agents(runs: Runs) -> None:
    """The 18 months name agents by their configuration ids, as the router does: the per-team
    and per-agent reports join history and configuration (no "(none)" team of names)."""
    from touchpoint.services.contact_center import config_document

    configured = set(config_document(runs.tp)["agents"])
    with read_connection(runs.tp.engine) as conn:
        named = set(
            conn.execute(
                select(interactions.c.agent).where(interactions.c.agent.is_not(None)).distinct()
            ).scalars()
        )
    assert len(named) > 20
    assert named <= configured


def test_the_keys_are_kept_readable_by_their_owner_only(runs: Runs) -> None:
    state = runs.first.state_file
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    for secret in runs.first.keys.values():
        assert secret in state.read_text()


def test_the_campaign_spend_covers_the_businesss_months(runs: Runs) -> None:
    """The sample's 218 rows (12 campaigns, 13 in two months, over 18 months) dated from the
    first day of the business (2024-12-01) to its 18th month (2026-05-01), none twice."""
    with read_connection(runs.tp.engine) as conn:
        rows, first, last = conn.execute(
            select(func.count(), func.min(campaign_spend.c.date), func.max(campaign_spend.c.date))
        ).one()
    assert (rows, first, last) == (218, date(2024, 12, 1), date(2026, 5, 1))
    assert runs.second.spend.stored == 218


def test_the_funnel_takes_days_between_stages_not_minutes(runs: Runs) -> None:
    """Medians a person would believe (a stage's row holds the days from the stage before).
    Reach to acquisition: people sign up minutes to days after browsing, some after a
    retargeting ad days later — a day or more. Acquisition to conversion: the first order comes
    10 minutes to 10 days after signing up, or after weeks of nurture email — a day or more.
    Conversion to retention: a second payment is a box a week or more after the first order, a
    subscription's renewal a month on, or a repeat order; a service contact comes days later —
    3 days or more (it was 5 minutes while a subscription's start counted as a purchase).
    Retention to loyalty: a third payment — 3 days or more. None beyond half the 18 months."""
    rows = runs.first.funnel.table.to_pylist()
    medians = {row["stage"]: row["median_days_from_previous"] for row in rows}
    assert medians["acquisition"] >= 1
    assert medians["conversion"] >= 1
    assert medians["retention"] >= 3
    assert medians["loyalty"] >= 3
    assert all(days <= 270 for days in medians.values() if days is not None)


def test_a_run_with_another_seed_is_refused_before_any_work(runs: Runs) -> None:
    before = interaction_count(runs.tp)
    with pytest.raises(Conflict, match="demo business of seed 5: run it again with --seed 5"):
        run_demo(runs.tp, customers=10, seed=6, now=NOW)
    assert key_count(runs.tp) == len(SCOPES) and interaction_count(runs.tp) == before


def test_demo_data_without_its_state_file_is_refused(tp: Touchpoint) -> None:
    """Without the first run's end, a run now would carry the same ids with other content."""
    result = run_demo(tp, customers=5, seed=7, now=NOW)
    result.state_file.unlink()
    with pytest.raises(Conflict, match="holds demo data but no demo.json"):
        run_demo(tp, customers=5, seed=7, now=NOW + HOUR)
    assert key_count(tp) == len(SCOPES)


def test_keys_the_database_no_longer_knows_are_made_again(tp: Touchpoint) -> None:
    first = run_demo(tp, customers=5, seed=7, now=NOW)
    with write_transaction(tp.engine) as conn:
        conn.execute(delete(api_keys))
    second = run_demo(tp, customers=5, seed=7, now=NOW + HOUR)
    assert second.keys_created == SCOPES and set(second.keys.values()).isdisjoint(
        first.keys.values()
    )
    assert key_count(tp) == len(SCOPES)
    assert all(secret in second.state_file.read_text() for secret in second.keys.values())
