"""Survey answers in the log: each is a `survey_response` interaction whose properties name the
survey it came from (`form`), its send (`send`), the question (`survey`: csat, nps or the
question's name) and the answer (`score` on the KPIs' scale; `answer` the score given on a CSAT's
own 1-7 or 1-10 scale, or a text)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, case, func, or_, select

from touchpoint.domain.surveys import CSAT, SCORES
from touchpoint.domain.vocabulary import InteractionType
from touchpoint.store.tables import interactions

_log = interactions.c


@dataclass(frozen=True, slots=True)
class AnswerCount:
    form: str | None  # the survey's name (None: an answer from no survey's form)
    question: str  # csat, nps or the question's name
    given: float | None  # the score given, on the question's scale (None: a text answer)
    score: float | None  # its place on the KPIs' scale (csat, nps)
    answers: int


def answer_counts(conn: Connection, forms: Collection[str]) -> list[AnswerCount]:
    """The answers recorded for these surveys and from no survey's form (imported, or a survey
    tool's: form None), by survey, question and score given."""
    props = _log.properties
    form = props["form"].as_string()
    question = props["survey"].as_string()
    score = case((question.in_(SCORES), props["score"].as_float()))
    given = case(
        (question == CSAT, func.coalesce(props["answer"].as_float(), props["score"].as_float())),
        (question.in_(SCORES), props["score"].as_float()),
    )
    query = (
        select(form, question, given, score, func.count())
        .where(
            _log.type == InteractionType.SURVEY_RESPONSE.value,
            or_(form.in_(list(forms)), form.is_(None)),
        )
        .group_by(form, question, given, score)
    )
    return [
        AnswerCount(
            None if f is None else str(f),
            str(q),
            None if g is None else float(g),
            None if s is None else float(s),
            int(n),
        )
        for f, q, g, s, n in conn.execute(query)
    ]


def responses(conn: Connection, forms: Collection[str]) -> dict[str, int]:
    """How many sends of each survey were answered (one or more of their questions)."""
    if not forms:
        return {}
    form = _log.properties["form"].as_string()
    send = _log.properties["send"].as_string()
    query = (
        select(form, func.count(func.distinct(send)))
        .where(_log.type == InteractionType.SURVEY_RESPONSE.value, form.in_(list(forms)))
        .group_by(form)
    )
    return {str(f): int(n) for f, n in conn.execute(query)}
