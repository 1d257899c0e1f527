"""A segment rule compiled into one set-based query (SQLAlchemy Core), for any engine.

The query reads five sources with fixed column names — `people` (id and the traits), `events`
(the log's interactions), `stages`, `consent` (changes) and `scores` — and selects the ids of the
people the rule holds for. Each condition is a column test or a correlated subquery on the
customer (a count of matching events, the consent change in force, the score), so SQLite and
PostgreSQL answer it through the customer's indexes and DuckDB decorrelates it into joins: no
loop over customers anywhere. `system_sources` maps the system of record's tables onto the five
names; analytics.segments maps DuckDB tables of the same columns (the bench, the columnar path).

A condition on a value a customer lacks (no age, no score) is false and its `not` true: every
condition is coalesced to false, so the rule's logic is two-valued like the language reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.engine import Dialect

from touchpoint.domain import segments as rules
from touchpoint.domain.contact_center import WAIT_PROPERTY
from touchpoint.domain.rfm import QUINTILES, rfm_group
from touchpoint.domain.segments import (
    AllOf,
    AnyOf,
    Behaviour,
    Consent,
    EventFilter,
    Not,
    Predicted,
    Rfm,
    Rule,
    Score,
    Stage,
    Trait,
)
from touchpoint.store.tables import (
    consent_history,
    customer_scores,
    customer_stages,
    customers,
    interactions,
    model_scores,
)
from touchpoint.store.types import UTCDateTime

RFM_QUINTILES = tuple(QUINTILES.values())
CATEGORY_PROPERTY = "category"  # the product category a purchase names (bought category "X")

# (people id column) -> a condition limiting the evaluation to some customers
Scope = Callable[[ColumnElement[Any]], ColumnElement[bool]]
# What a behaviour counts, its comparison aside: behaviours that share it share one count.
Counted = tuple[EventFilter, rules.Window]


@dataclass(frozen=True, slots=True)
class SegmentSources:
    """What a rule reads, under fixed names (see the module docstring); `scores` is None where
    no score is kept (every score model is then unknown)."""

    people: FromClause  # id, age, gender, income_band, occupation, country, language
    events: FromClause  # customer_id, occurred_at, type, direction, queue, category, wait_s
    stages: FromClause  # customer_id, stage
    consent: FromClause  # customer_id, channel, purpose, status, occurred_at, recorded_at, source
    scores: FromClause | None  # customer_id, model, score (as of the evaluation's moment)
    # How conditions read the other sources: correlated subqueries on the customer (indexes
    # answer them: the system of record), or one grouped subquery each that the customers are
    # looked up in (hash joins: DuckDB over many customers).
    grouped: bool = False
    rfm: FromClause | None = None  # customer_id, rfm_group (as of the evaluation's moment)
    # customer_id, model, probability: each predictive model's latest scoring run (None: not
    # kept here, e.g. DuckDB's copy: every `predicted` condition is then false)
    predicted: FromClause | None = None


def member_query(
    rule: Rule, sources: SegmentSources, now: datetime, scope: Scope | None = None
) -> Select[Any]:
    """The ids of the people `rule` holds for at `now` (only those `scope` admits)."""
    people = sources.people
    where = _compile(rule, sources, now)
    if scope is not None:
        where = and_(scope(people.c.id), where)
    return select(people.c.id).where(where)


def members_query(
    rule_list: Sequence[Rule], sources: SegmentSources, now: datetime, scope: Scope | None = None
) -> Select[Any]:
    """Several rules in one query: each person (that `scope` admits) with one 0/1 column per
    rule (`s0`, `s1`, …). Every behaviour of every rule is counted in one grouped pass over the
    events (one sum per distinct (filter, window), the types they name pushed down) joined to
    the people once, instead of one pass per condition; in the grouped shape (DuckDB) the stage,
    each (channel, purpose)'s consent in force and each model's score are joined once too."""
    people = sources.people
    joined: FromClause = people
    features: dict[Any, ColumnElement[Any]] = {}
    found = [c for rule in rule_list for c in rules.conditions(rule)]
    counted = list(dict.fromkeys((c.event, c.window) for c in found if isinstance(c, Behaviour)))
    if counted:
        table = _counts(counted, sources.events, now, scope)
        joined = joined.outerjoin(table, table.c.customer_id == people.c.id)
        features.update({key: table.c[f"b{i}"] for i, key in enumerate(counted)})
    if sources.grouped:
        joined = _join_grouped(found, sources, joined, features)
    where = [] if scope is None else [scope(people.c.id)]
    held = [
        case((_compile(rule, sources, now, features), 1), else_=0).label(f"s{i}")
        for i, rule in enumerate(rule_list)
    ]
    return select(people.c.id, *held).select_from(joined).where(*where)


def _counts(
    counted: list[Counted], events: FromClause, now: datetime, scope: Scope | None
) -> FromClause:
    """Per customer, how many of their interactions each (filter, window) counts (`b0`, …)."""
    tests = [and_(*_counted_tests(key, events, now)) for key in counted]
    sums = [func.count().filter(test).label(f"b{i}") for i, test in enumerate(tests)]
    types = sorted({key[0].type for key in counted})
    grouped = select(events.c.customer_id, *sums).where(events.c.type.in_(types), or_(*tests))
    if scope is not None:
        grouped = grouped.where(scope(events.c.customer_id))
    return grouped.group_by(events.c.customer_id).subquery("counted")


def _join_grouped(
    found: list[Any], sources: SegmentSources, joined: FromClause, features: dict[Any, Any]
) -> FromClause:
    person = sources.people.c.id
    if any(isinstance(c, Stage) for c in found):
        stages = sources.stages
        joined = joined.outerjoin(stages, stages.c.customer_id == person)
        features["stage"] = stages.c.stage
    purposes = dict.fromkeys((c.channel, c.purpose) for c in found if isinstance(c, Consent))
    for i, (channel, purpose) in enumerate(purposes):
        table = _latest_consent(sources.consent, channel, purpose, f"consent{i}")
        joined = joined.outerjoin(table, table.c.customer_id == person)
        features[("consent", channel, purpose)] = table.c.status
    models = dict.fromkeys(c.model for c in found if isinstance(c, Score))
    if sources.scores is not None:
        for i, model in enumerate(models):
            scores = sources.scores
            table = (
                select(scores.c.customer_id, scores.c.score)
                .where(scores.c.model == model)
                .subquery(f"score{i}")
            )
            joined = joined.outerjoin(table, table.c.customer_id == person)
            features[("score", model)] = table.c.score
    return joined


def _latest_consent(consent: FromClause, channel: str, purpose: str, name: str) -> FromClause:
    """Per customer, the status of the change in force for (channel, purpose): DuckDB's arg_max,
    the latest by (occurred_at, recorded_at, source)."""
    latest = func.arg_max(
        consent.c.status, func.row(consent.c.occurred_at, consent.c.recorded_at, consent.c.source)
    )
    return (
        select(consent.c.customer_id, latest.label("status"))
        .where(consent.c.channel == channel, consent.c.purpose == purpose)
        .group_by(consent.c.customer_id)
        .subquery(name)
    )


def _counted_tests(key: Counted, events: FromClause, now: datetime) -> list[ColumnElement[bool]]:
    """The type and the window first: the index holds them, so a row they refuse is never read
    from the table (a property such as the category is read only for the rows that need it)."""
    behaviour = Behaviour(key[0], window=key[1])
    kind, *rest = event_filter(behaviour, events)
    return [kind, *in_window(behaviour, events, now), *rest]


def _feature(rule: Rule, features: Mapping[Any, Any]) -> ColumnElement[bool] | None:
    """The condition as a test of a joined column (None: it has none; compiled as usual)."""
    if isinstance(rule, Behaviour) and (rule.event, rule.window) in features:
        held = func.coalesce(features[(rule.event, rule.window)], 0)
        return _compare(held, rule.op, rule.count)  # type: ignore[no-any-return]
    if isinstance(rule, Stage) and "stage" in features:
        return features["stage"].in_(rule.stages)  # type: ignore[no-any-return]
    if isinstance(rule, Consent) and ("consent", rule.channel, rule.purpose) in features:
        return features[("consent", rule.channel, rule.purpose)] == rule.status  # type: ignore[no-any-return]
    if isinstance(rule, Score) and ("score", rule.model) in features:
        return _compare(features[("score", rule.model)], rule.op, rule.value)  # type: ignore[no-any-return]
    return None


def _compile(
    rule: Rule, sources: SegmentSources, now: datetime, features: Mapping[Any, Any] | None = None
) -> ColumnElement[bool]:
    if isinstance(rule, AllOf):
        return and_(*(_compile(item, sources, now, features) for item in rule.items))
    if isinstance(rule, AnyOf):
        return or_(*(_compile(item, sources, now, features) for item in rule.items))
    if isinstance(rule, Not):
        return not_(_compile(rule.item, sources, now, features))
    test = _feature(rule, features) if features else None
    if test is None:
        test = _condition(rule, sources, now)
    return func.coalesce(test, false())


def _condition(rule: Rule, sources: SegmentSources, now: datetime) -> ColumnElement[bool]:
    person = sources.people.c.id
    if sources.grouped and not isinstance(rule, Trait):
        return _grouped(rule, sources, now, person)
    if isinstance(rule, Trait):
        return _trait(rule, sources.people.c[rule.trait])
    if isinstance(rule, Stage):
        stages = sources.stages
        return exists().where(stages.c.customer_id == person, stages.c.stage.in_(rule.stages))
    if isinstance(rule, Consent):
        return _consent(rule, sources.consent, person) == rule.status
    if isinstance(rule, Score):
        return _score(rule, sources.scores, person)
    if isinstance(rule, Predicted):
        return _predicted(rule, sources.predicted, person)
    if isinstance(rule, Rfm):
        rfm = sources.rfm
        if rfm is None:  # no RFM source (the DuckDB copy holds no revenue yet): nobody's group
            return null()
        return exists().where(rfm.c.customer_id == person, rfm.c.rfm_group.in_(rule.groups))
    if isinstance(rule, Behaviour):
        return _compare(_count(rule, sources.events, person, now), rule.op, rule.count)
    raise TypeError(f"not a segment rule: {rule!r}")


def _grouped(
    rule: Rule, sources: SegmentSources, now: datetime, person: ColumnElement[Any]
) -> ColumnElement[bool]:
    """The condition as `person IN (customers it holds for)` (or NOT IN those it fails for,
    when a customer with no row at all holds: `opened no email`), in DuckDB's SQL."""
    if isinstance(rule, Stage):
        stages = sources.stages
        return person.in_(select(stages.c.customer_id).where(stages.c.stage.in_(rule.stages)))
    if isinstance(rule, Consent):
        # DuckDB's arg_max: the status of the latest change by (occurred_at, recorded_at, source)
        consent = sources.consent
        latest = func.arg_max(
            consent.c.status,
            func.row(consent.c.occurred_at, consent.c.recorded_at, consent.c.source),
        )
        granted = (
            select(consent.c.customer_id)
            .where(consent.c.channel == rule.channel, consent.c.purpose == rule.purpose)
            .group_by(consent.c.customer_id)
            .having(latest == rule.status)
        )
        return person.in_(granted)
    if isinstance(rule, Rfm):
        rfm = sources.rfm
        if rfm is None:
            return null()
        return person.in_(select(rfm.c.customer_id).where(rfm.c.rfm_group.in_(rule.groups)))
    if isinstance(rule, Predicted):
        predicted = sources.predicted
        if predicted is None:
            return null()
        held = select(predicted.c.customer_id).where(
            predicted.c.model == rule.model, _compare(predicted.c.probability, rule.op, rule.value)
        )
        return person.in_(held)
    if isinstance(rule, Score):
        scores = sources.scores
        if scores is None:
            return null()
        held = select(scores.c.customer_id).where(
            scores.c.model == rule.model, _compare(scores.c.score, rule.op, rule.value)
        )
        return person.in_(held)
    if isinstance(rule, Behaviour):
        events = sources.events
        counted = (
            select(events.c.customer_id)
            .where(*event_filter(rule, events), *in_window(rule, events, now))
            .group_by(events.c.customer_id)
        )
        if rules.holds_for_zero(rule.op, rule.count):
            failing = counted.having(not_(_compare(func.count(), rule.op, rule.count)))
            return person.not_in(failing)
        return person.in_(counted.having(_compare(func.count(), rule.op, rule.count)))
    raise TypeError(f"not a segment rule: {rule!r}")


def _trait(rule: Trait, column: ColumnElement[Any]) -> ColumnElement[bool]:
    if rule.op == "in":
        return column.in_(list(rule.values))
    return _compare(column, rule.op, rule.values[0])


def _compare(left: Any, op: str, right: Any) -> Any:
    return rules.comparison(op)(left, right)


def event_filter(behaviour: Behaviour, events: FromClause) -> list[ColumnElement[bool]]:
    """The tests an interaction passes to count for `behaviour`, its window aside."""
    wanted = behaviour.event
    tests = [events.c.type == wanted.type]
    if wanted.direction is not None:
        tests.append(events.c.direction == wanted.direction)
    if wanted.queue is not None:
        tests.append(events.c.queue == wanted.queue)
    if wanted.category is not None:
        tests.append(events.c.category == wanted.category)
    if wanted.wait_over_s is not None:
        tests.append(events.c.wait_s > wanted.wait_over_s)
    return tests


def in_window(behaviour: Behaviour, events: FromClause, now: datetime) -> list[ColumnElement[bool]]:
    start = rules.window_start(behaviour.window, now)
    if start is None:
        return []
    moment = events.c.occurred_at
    return [moment >= start if behaviour.window.period else moment > start]


def _count(
    behaviour: Behaviour, events: FromClause, person: ColumnElement[Any], now: datetime
) -> ColumnElement[Any]:
    tests = [events.c.customer_id == person, *event_filter(behaviour, events)]
    tests += in_window(behaviour, events, now)
    return select(func.count()).select_from(events).where(*tests).scalar_subquery()


def _consent(rule: Consent, consent: FromClause, person: ColumnElement[Any]) -> Any:
    """The status of the change in force (domain.consent.current_consent's order)."""
    return (
        select(consent.c.status)
        .where(
            consent.c.customer_id == person,
            consent.c.channel == rule.channel,
            consent.c.purpose == rule.purpose,
        )
        .order_by(
            consent.c.occurred_at.desc(), consent.c.recorded_at.desc(), consent.c.source.desc()
        )
        .limit(1)
        .scalar_subquery()
    )


def _score(
    rule: Score, scores: FromClause | None, person: ColumnElement[Any]
) -> ColumnElement[bool]:
    if scores is None:  # no score is kept (services refuse such a rule; one saved before is false)
        return null()
    value = (
        select(scores.c.score)
        .where(scores.c.customer_id == person, scores.c.model == rule.model)
        .scalar_subquery()
    )
    return _compare(value, rule.op, rule.value)


def _predicted(
    rule: Predicted, predicted: FromClause | None, person: ColumnElement[Any]
) -> ColumnElement[bool]:
    """The model's latest probability for the customer (no row: NULL, so false) compared."""
    if predicted is None:
        return null()
    value = (
        select(predicted.c.probability)
        .where(predicted.c.customer_id == person, predicted.c.model == rule.model)
        .scalar_subquery()
    )
    return _compare(value, rule.op, rule.value)  # type: ignore[no-any-return]


# --- the system of record's tables as the five sources --------------------------------------


def json_text(column: Any, key: str, dialect: Dialect) -> ColumnElement[Any]:
    """A JSON document's text member (NULL if absent or not text)."""
    if dialect.name == "sqlite":
        path = f'$."{key}"'
        return case((func.json_type(column, path) == "text", func.json_extract(column, path)))
    return _pg_typed(column, key, "string", text=True)


def json_number(column: Any, key: str, dialect: Dialect) -> ColumnElement[Any]:
    """A JSON document's numeric member (NULL if absent or not a number)."""
    if dialect.name == "sqlite":
        path = f'$."{key}"'
        kind = func.json_type(column, path)
        return case((kind.in_(("integer", "real")), func.json_extract(column, path)))
    return _pg_typed(column, key, "number", text=False)


def _pg_typed(column: Any, key: str, kind: str, *, text: bool) -> ColumnElement[Any]:
    member = column.op("->")(literal(key))
    raw = column.op("->>")(literal(key))
    value = raw if text else cast(raw, Float)
    return case((func.json_typeof(member) == kind, value))


def decayed_scores(dialect: Dialect, now: datetime) -> FromClause:
    """Every customer's score under each model as it stands at `now`: the points held at their
    reference moment halved every half-life since (domain.scores.decayed, in SQL)."""
    held = customer_scores.c
    at = moment(now)
    if dialect.name == "sqlite":
        elapsed = (func.julianday(at) - func.julianday(held.reference_at)) * 86_400.0
        power = func.pow
    else:
        elapsed = func.extract("epoch", at - held.reference_at)
        power = func.power
    steady = or_(held.half_life_s.is_(None), held.reference_at.is_(None), elapsed <= 0)
    score = case((steady, held.points), else_=held.points * power(2.0, -elapsed / held.half_life_s))
    return select(held.customer_id, held.model, score.label("score")).subquery("scores")


def system_sources(dialect: Dialect, now: datetime | None = None) -> SegmentSources:
    """The system of record's tables under the five names (customers merged away are nobody);
    the scores as they stand at `now` (none without it)."""
    traits = customers.c.traits
    people = (
        select(
            customers.c.id,
            json_number(traits, "age", dialect).label("age"),
            *(json_text(traits, t, dialect).label(t) for t in rules.TRAITS if t != "age"),
        )
        # not `merged_into IS NULL`: SQLite would walk that index (every live customer) rather
        # than look up a batch's few customers by id
        .where(func.coalesce(customers.c.merged_into, "") == "")
        .subquery("people")
    )
    props = interactions.c.properties
    events = select(
        interactions.c.customer_id,
        interactions.c.occurred_at,
        interactions.c.type,
        interactions.c.direction,
        interactions.c.queue,
        json_text(props, CATEGORY_PROPERTY, dialect).label("category"),
        json_number(props, WAIT_PROPERTY, dialect).label("wait_s"),
    ).subquery("events")
    return SegmentSources(
        people=people,
        events=events,
        stages=customer_stages,
        consent=consent_history,
        scores=None if now is None else decayed_scores(dialect, now),
        rfm=None if now is None else rfm_groups(now),
        predicted=model_scores,
    )


def rfm_groups(now: datetime) -> FromClause:
    """Every purchasing customer's RFM group as of `now` (analytics.rfm's definition, in SQL):
    over the purchases with revenue before `now`, recency (the last purchase), frequency and
    monetary value are scored 1-5 against their nearest-rank quintile edges (the largest value
    among the first ceil(n x p) in order), R counted from the most recent, and the group is
    the R x FM grid's (domain.rfm)."""
    i = interactions.c
    bought = (
        select(
            i.customer_id,
            func.max(i.occurred_at).label("last_at"),
            func.count().label("frequency"),
            func.sum(i.revenue).label("monetary"),
        )
        .where(i.type == rules.PURCHASE, i.revenue > 0, i.occurred_at < moment(now))
        .group_by(i.customer_id)
        .subquery("bought")
    )
    b = bought.c
    ranked = select(
        bought,
        # recency ascending is the last purchase descending: edges are moments, compared reversed
        func.row_number().over(order_by=b.last_at.desc()).label("rr"),
        func.row_number().over(order_by=b.frequency).label("rf"),
        func.row_number().over(order_by=b.monetary).label("rm"),
        func.count().over().label("n"),
    ).subquery("ranked")
    r = ranked.c

    def edge(rank: Any, value: Any, q: float, agg: Any) -> Any:
        return agg(case((rank <= func.ceil(r.n * literal(q, Float)), value)))

    edges = select(
        *(edge(r.rr, r.last_at, q, func.min).label(f"r{k}") for k, q in enumerate(RFM_QUINTILES)),
        *(edge(r.rf, r.frequency, q, func.max).label(f"f{k}") for k, q in enumerate(RFM_QUINTILES)),
        *(edge(r.rm, r.monetary, q, func.max).label(f"m{k}") for k, q in enumerate(RFM_QUINTILES)),
    ).subquery("edges")
    e = edges.c
    quarters = range(len(RFM_QUINTILES))
    older = sum((case((b.last_at < e[f"r{k}"], 1), else_=0) for k in quarters), literal(0))
    f = 1 + sum((case((b.frequency > e[f"f{k}"], 1), else_=0) for k in quarters), literal(0))
    m = 1 + sum((case((b.monetary > e[f"m{k}"], 1), else_=0) for k in quarters), literal(0))
    scored = (
        select(b.customer_id, (5 - older).label("r"), f.label("f"), m.label("m"))
        .select_from(bought.join(edges, literal(True)))
        .subquery("scored")
    )
    s = scored.c
    fm = (s.f + s.m + 1) // 2  # FM: the mean of F and M rounded half up (domain.rfm.fm_score)
    named = case(
        *(
            (and_(s.r == score_r, fm == score_fm), rfm_group(score_r, score_fm))
            for score_r in range(1, 6)
            for score_fm in range(1, 6)
        ),
        else_=literal("lost"),
    )
    return select(s.customer_id, named.label("rfm_group")).subquery("rfm")


def moment(value: datetime) -> ColumnElement[Any]:
    """A moment as a bound parameter of the columns' type (naive UTC text in SQLite)."""
    return literal(value, UTCDateTime)
