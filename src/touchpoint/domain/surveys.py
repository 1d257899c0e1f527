"""Survey answers inside an interaction's properties, read by one rule.

An answer comes either flat (`{"csat": 4}`, `{"nps": 9}`, `{"heard_about": "podcast"}`) or as
the demo and many survey tools send it (`{"survey": "csat", "score": 4}`,
`{"survey": "how_did_you_hear", "answer": "podcast"}`). The columnar copy extracts the same
columns in SQL (analytics/columnar.py); this is the rule for showing one interaction.

And survey definitions: the question kinds (CSAT on a 1-5, 1-7 or 1-10 scale, NPS 0-10, free
text, a choice such as "how did you hear about us"), a definition's checks, and an answer's
properties."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from touchpoint.domain.moments import parse_span

SCORES = ("csat", "nps")  # numeric answers
HEARD_ABOUT = "heard_about"  # a text answer: where the customer heard of the business
HEARD_SURVEY = "how_did_you_hear"  # the survey name that carries heard_about as its answer


def survey_answers(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The survey answers `properties` holds, by name (csat, nps, heard_about); empty if none."""
    found: dict[str, Any] = {}
    for key in (*SCORES, HEARD_ABOUT):
        if properties.get(key) is not None:
            found[key] = properties[key]
    survey = properties.get("survey")
    if survey in SCORES and properties.get("score") is not None:
        found.setdefault(str(survey), properties["score"])
    if survey == HEARD_SURVEY and properties.get("answer") is not None:
        found.setdefault(HEARD_ABOUT, properties["answer"])
    return found


# --- survey definitions --------------------------------------------------------------------------
# A survey is a named list of questions (a TOML file: automation/survey_files.py reads it). Each
# answer is one `survey_response` interaction in the shape the readers above already read:
# {"survey": "csat"|"nps", "score": n} or {"survey": <question name>, "answer": text}.

CSAT: Final = "csat"
NPS: Final = "nps"
TEXT: Final = "text"
CHOICE: Final = "choice"
QUESTION_KINDS: Final = (CSAT, NPS, TEXT, CHOICE)
CSAT_SCALES: Final[Mapping[str, tuple[int, int]]] = {"1-5": (1, 5), "1-7": (1, 7), "1-10": (1, 10)}
NPS_SCALE: Final = (0, 10)
KPI_CSAT_SCALE: Final = CSAT_SCALES["1-5"]  # what the CSAT KPIs average on
PROMOTER_FROM: Final = 9  # an NPS answer of 9 or 10 is a promoter's
DETRACTOR_UP_TO: Final = 6  # 0 to 6 a detractor's (7 and 8 are passive)
TEXT_LIMIT: Final = 5000  # the longest free-text answer a question may allow
DEFAULT_TEXT_LENGTH: Final = 1000
DEFAULT_EXPIRY: Final = timedelta(days=30)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_SURVEY_KEYS: Final = ("name", "title", "subject", "expires_after", "transactional", "questions")
_QUESTION_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    CSAT: ("kind", "text", "scale", "labels", "required"),
    NPS: ("kind", "text", "labels", "required"),
    TEXT: ("kind", "name", "text", "max_length", "required"),
    CHOICE: ("kind", "name", "text", "options", "required"),
}


class SurveyError(ValueError):
    """A survey definition refused as a whole: `problems` are (path, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.problems))


@dataclass(frozen=True, slots=True)
class Question:
    """One question: its kind, the name its answer is recorded under (`survey` in the answer's
    properties: csat and nps are their kind, so the KPIs read them; text and choice their own
    name — `how_did_you_hear` is what attribution reads), what it asks and what it accepts."""

    kind: str  # one of QUESTION_KINDS
    name: str
    text: str
    scale: tuple[int, int] | None = None  # csat, nps: lowest and highest score
    labels: Mapping[int, str] = field(default_factory=dict)  # score -> its label
    options: tuple[str, ...] = ()  # choice
    max_length: int = DEFAULT_TEXT_LENGTH  # text
    required: bool = True

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(range(self.scale[0], self.scale[1] + 1)) if self.scale else ()

    def read(self, raw: str | None) -> Any:
        """A form's answer as recorded (None: not answered); ValueError says why it is refused."""
        text = (raw or "").strip()
        if not text:
            if self.required:
                raise ValueError("please answer this question")
            return None
        if self.scale is not None:
            if not re.fullmatch(r"-?\d{1,3}", text) or int(text) not in self.scores:
                raise ValueError(f"choose a score from {self.scale[0]} to {self.scale[1]}")
            return int(text)
        if self.kind == CHOICE:
            if text not in self.options:
                raise ValueError(f"choose one of {', '.join(self.options)}")
            return text
        if len(text) > self.max_length:
            raise ValueError(f"at most {self.max_length} characters")
        return text


@dataclass(frozen=True, slots=True)
class Survey:
    name: str
    title: str
    subject: str  # the email's subject
    questions: tuple[Question, ...]
    expires_after: timedelta = DEFAULT_EXPIRY
    transactional: bool = False  # True: no marketing consent, quiet hours or caps apply

    @property
    def first_scored(self) -> Question | None:
        """The question the email's one-click score links answer."""
        return next((q for q in self.questions if q.scale is not None), None)


def answer_properties(question: Question, value: Any) -> dict[str, Any]:
    """An answer's properties in the shape the reports read. A CSAT on a 1-7 or 1-10 scale is
    recorded as its place on the KPIs' 1-5 scale (1 + (n - low) * 4 / (high - low)), the score
    given kept beside it (`answer`, `scale`)."""
    if question.kind == CSAT and question.scale is not None:
        low, high = question.scale
        if question.scale == KPI_CSAT_SCALE:
            return {"survey": CSAT, "score": value}
        kpi_low, kpi_high = KPI_CSAT_SCALE
        score = kpi_low + (value - low) * (kpi_high - kpi_low) / (high - low)
        return {"survey": CSAT, "score": score, "answer": value, "scale": f"{low}-{high}"}
    if question.kind == NPS:
        return {"survey": NPS, "score": value}
    return {"survey": question.name, "answer": value}


def csat_score(total: float | None, answers: int | None) -> float | None:
    """CSAT as the KPIs report it: the mean answer on the KPIs' 1-5 scale (None: no answer)."""
    return float(total) / float(answers) if total is not None and answers else None


def nps_score(promoters: int | None, detractors: int | None, answers: int | None) -> float | None:
    """NPS as the KPIs report it: 100 x (promoters - detractors) / answers, -100 to +100."""
    if not answers:
        return None
    return 100.0 * ((promoters or 0) - (detractors or 0)) / answers


def parse_survey(raw: Mapping[str, Any]) -> Survey:
    """A survey from a file's mapping; every problem at once in a SurveyError."""
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in _SURVEY_KEYS:
            problems.append((key, f"unknown key; expected one of {', '.join(_SURVEY_KEYS)}"))
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(("name", "must be lower-case letters, digits and _ (a letter first)"))
    subject = raw.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        problems.append(("subject", "missing (text): the email's subject"))
    title = raw.get("title", subject)
    expires = _expiry(raw.get("expires_after"), problems)
    transactional = raw.get("transactional", False)
    if not isinstance(transactional, bool):
        problems.append(("transactional", "must be true or false"))
    questions = _questions(raw.get("questions"), problems)
    if problems:
        raise SurveyError(problems)
    return Survey(
        str(name),
        str(title or subject),
        str(subject).replace("\n", " "),
        questions,
        expires,
        bool(transactional),
    )


def _expiry(value: Any, problems: list[tuple[str, str]]) -> timedelta:
    if value is None:
        return DEFAULT_EXPIRY
    span = parse_span(value) if isinstance(value, str) else None
    if span is None or not timedelta(hours=1) <= span <= timedelta(days=365):
        problems.append(("expires_after", 'must be a span from 1h to 365d, e.g. "14d"'))
        return DEFAULT_EXPIRY
    return span


def _questions(raw: Any, problems: list[tuple[str, str]]) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(("questions", "missing: at least one [[questions]] table"))
        return ()
    found = [_question(q, f"questions[{i}]", problems) for i, q in enumerate(raw)]
    questions = tuple(q for q in found if q is not None)
    names = [q.name for q in questions]
    for i, q in enumerate(questions):
        if names.index(q.name) != i:
            problems.append((f"questions[{i}].name", f"{q.name!r} is asked twice"))
    return questions


def _question(raw: Any, where: str, problems: list[tuple[str, str]]) -> Question | None:
    if not isinstance(raw, Mapping):
        problems.append((where, "must be a table"))
        return None
    kind = raw.get("kind")
    if kind not in QUESTION_KINDS:
        problems.append((f"{where}.kind", f"must be one of {', '.join(QUESTION_KINDS)}"))
        return None
    before = len(problems)
    for key in raw:
        if key not in _QUESTION_KEYS[kind]:
            expected = ", ".join(_QUESTION_KEYS[kind])
            problems.append(
                (f"{where}.{key}", f"unknown key for a {kind} question; expected {expected}")
            )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append((f"{where}.text", "missing (text): what the question asks"))
    required = raw.get("required", kind != TEXT)
    if not isinstance(required, bool):
        problems.append((f"{where}.required", "must be true or false"))
    name = raw.get("name", kind)
    if kind in (TEXT, CHOICE) and (
        not isinstance(name, str) or not _NAME.match(name) or name in SCORES
    ):
        problems.append(
            (f"{where}.name", "must be lower-case letters, digits and _, and not csat or nps")
        )
    scale = _scale(kind, raw, where, problems)
    labels = _labels(raw.get("labels", {}), scale, where, problems)
    options = raw.get("options", [])
    if kind == CHOICE and (
        not isinstance(options, list)
        or len(options) < 2
        or not all(isinstance(o, str) and o.strip() for o in options)
        or len(set(options)) != len(options)
    ):
        problems.append((f"{where}.options", "must be a list of two or more different texts"))
    length = raw.get("max_length", DEFAULT_TEXT_LENGTH)
    if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= TEXT_LIMIT:
        problems.append((f"{where}.max_length", f"must be a whole number from 1 to {TEXT_LIMIT}"))
    if len(problems) > before:
        return None
    return Question(
        kind, str(name), str(text).strip(), scale, labels, tuple(options), length, required
    )


def _scale(kind: str, raw: Mapping[str, Any], where: str, problems: list[tuple[str, str]]) -> Any:
    if kind == NPS:
        return NPS_SCALE
    if kind != CSAT:
        return None
    chosen = raw.get("scale", "1-5")
    if chosen not in CSAT_SCALES:
        problems.append((f"{where}.scale", f"must be one of {', '.join(CSAT_SCALES)}"))
        return KPI_CSAT_SCALE
    return CSAT_SCALES[chosen]


def _labels(
    raw: Any, scale: tuple[int, int] | None, where: str, problems: list[tuple[str, str]]
) -> dict[int, str]:
    if not raw:
        return {}
    if scale is None or not isinstance(raw, Mapping):
        problems.append((f"{where}.labels", "a table of score = label, for csat and nps only"))
        return {}
    labels: dict[int, str] = {}
    for key, label in raw.items():
        score = int(key) if re.fullmatch(r"\d{1,2}", str(key)) else None
        if score is None or not scale[0] <= score <= scale[1] or not isinstance(label, str):
            problems.append(
                (
                    f"{where}.labels",
                    f"keys must be scores from {scale[0]} to {scale[1]}, values text",
                )
            )
            return {}
        labels[score] = label
    return labels
