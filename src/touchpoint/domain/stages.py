"""The lifecycle stage model: a declarative TOML file parsed into rules the stage engine runs.

A model names ordered progression stages (reach → … → advocacy in the default), optional overlays
(at_risk, churned, win_back) that sit on top of the progression and can be left again, and the
rules that enter each. Parsing checks everything and reports the line of the first problem.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

DAY_S = 86_400.0

RULE_KEYS = {
    "reason",
    "types",
    "channels",
    "directions",
    "property_equals",
    "property_min",
    "property_max",
    "revenue_min",
    "purchases_at_least",
    "spend_at_least",
    "open_complaints_at_least",
    "within_days",
    "inactive_days",
    "from",
    "requires",
}
COUNTER_KEYS = ("purchases_at_least", "spend_at_least", "open_complaints_at_least")


class StageModelError(ValueError):
    """A stage model file that cannot be used; the message names the line and the problem."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One way into (or out of) a stage. Every condition given must hold for the event."""

    target: str
    reason: str
    types: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    directions: frozenset[str] | None = None
    property_equals: tuple[tuple[str, Any], ...] = ()
    property_min: tuple[tuple[str, float], ...] = ()
    property_max: tuple[tuple[str, float], ...] = ()
    revenue_min: float | None = None
    purchases_at_least: int | None = None
    spend_at_least: float | None = None
    open_complaints_at_least: int | None = None
    within_s: float | None = None  # window for the purchase/spend counters; None = lifetime
    inactive_s: float | None = None  # time-based: no activity for this long
    from_: frozenset[str] | None = None  # only from these stages/overlays
    requires_rank: int = -1  # progression rank the customer must have reached

    @property
    def is_counter(self) -> bool:
        return (
            self.purchases_at_least is not None
            or self.spend_at_least is not None
            or self.open_complaints_at_least is not None
        )


@dataclass(frozen=True, slots=True)
class Overlay:
    name: str
    level: int  # a higher level overrides a lower one (churned over at_risk over win_back)
    description: str
    enter: tuple[Rule, ...]
    exit: tuple[Rule, ...]


@dataclass(frozen=True)
class StageModel:
    name: str
    version: int
    description: str
    forward_only: bool
    stages: tuple[str, ...]
    stage_rules: tuple[Rule, ...]  # progression rules, highest stage first
    overlays: tuple[Overlay, ...]
    activity_directions: frozenset[str] | None
    activity_exclude_types: frozenset[str]
    purchase_types: frozenset[str]
    complaint_types: frozenset[str]
    resolution_types: frozenset[str]
    parameters: dict[str, Any]
    source: str = field(repr=False)
    descriptions: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def overlay_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.overlays)

    @property
    def all_stages(self) -> tuple[str, ...]:
        return self.stages + self.overlay_names

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def fingerprint(self) -> str:
        return hashlib.blake2b(self.source.encode(), digest_size=8).hexdigest()

    def rank(self, stage: str) -> int:
        return self.stages.index(stage)


def parse_stage_model(source: str) -> StageModel:
    """Parse and check a model file's text; raise StageModelError naming the line at fault."""
    try:
        doc = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise StageModelError(f"not valid TOML: {exc}") from None
    return _Parser(doc, source).model()


class _Parser:
    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self.doc = doc
        self.lines = source.splitlines()
        self.source = source
        self.parameters: dict[str, Any] = dict(doc.get("parameters", {}))
        self.rule_at: tuple[str, int] | None = None  # (enter|exit, index) of the rule being read

    def fail(self, where: tuple[str, int | None, str | None], problem: str) -> StageModelError:
        table, index, key = where
        line = self.locate(table, index, key)
        place = f"line {line}: " if line else ""
        path = table if index is None else f"{table}[{index + 1}]"
        return StageModelError(f"{place}{path}{'.' + key if key else ''}: {problem}")

    def locate(self, table: str, index: int | None, key: str | None) -> int | None:
        """The 1-based line of `key` in the index-th `[[table]]` block (and rule being read)."""
        block = self._find(rf"\[\[?\s*{re.escape(table)}\s*\]\]?", 0, index or 0)
        if block is None or key is None:
            return block
        if self.rule_at is not None:
            sub, j = self.rule_at
            rule_line = self._find(rf"\[\[\s*{re.escape(table)}\.{sub}\s*\]\]", block, j)
            block = rule_line or block
        for number in range(block, len(self.lines)):
            text = self.lines[number]
            if re.match(rf"^\s*{re.escape(key)}\s*=", text):
                return number + 1
            if text.lstrip().startswith("["):
                break
        return block

    def _find(self, header: str, after: int, nth: int) -> int | None:
        """The line of the nth header matching `header` after line `after`, within its block."""
        seen = -1
        for number in range(after, len(self.lines)):
            text = self.lines[number].strip()
            if re.fullmatch(header, text):
                seen += 1
                if seen == nth:
                    return number + 1
            elif after and re.fullmatch(r"\[\[?[a-z_]+\]\]?", text):
                break  # the next top-level table: the block has ended
        return None

    def value(self, raw: Any, where: tuple[str, int | None, str | None]) -> Any:
        if isinstance(raw, str) and raw.startswith("$"):
            name = raw[1:]
            if name not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise self.fail(where, f"unknown parameter {raw!r} (parameters: {known})")
            return self.parameters[name]
        return raw

    def interpolate(self, text: str) -> str:
        """`$name` in free text (reasons) replaced by the parameter's value."""
        return re.sub(r"\$(\w+)", lambda m: str(self.parameters.get(m.group(1), m.group(0))), text)

    def number(self, raw: Any, where: tuple[str, int | None, str | None]) -> float:
        value = self.value(raw, where)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {value!r}")
        if value < 0:
            raise self.fail(where, f"must not be negative, got {value!r}")
        return float(value)

    def names(self, raw: Any, where: tuple[str, int | None, str | None]) -> frozenset[str]:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw) or not raw:
            raise self.fail(where, "expected a non-empty list of strings")
        return frozenset(raw)

    def model(self) -> StageModel:
        meta = self.doc.get("model")
        if not isinstance(meta, dict):
            raise self.fail(("model", None, None), "missing [model] table with name and version")
        for key in ("name", "version"):
            if key not in meta:
                raise self.fail(("model", None, None), f"missing `{key}`")
        if not isinstance(meta["version"], int):
            raise self.fail(("model", None, "version"), "version must be an integer")
        raw_stages = self.doc.get("stages")
        if not isinstance(raw_stages, list) or not raw_stages:
            raise self.fail(("stages", None, None), "at least one [[stages]] is required")
        stage_names = self._stage_names(raw_stages)
        self.stage_names = stage_names
        forward_only = bool(meta.get("forward_only", False))
        overlays = tuple(self._overlays(forward_only))
        self.all_names = stage_names + tuple(o["name"] for o in overlays)
        rules: list[Rule] = []
        for i, raw in enumerate(raw_stages):
            for j, rule in enumerate(raw.get("enter", [])):
                rules.append(self.rule(rule, raw["name"], ("stages", i, "enter"), j))
        if not any(r.target == stage_names[0] and r.types == frozenset({"*"}) for r in rules):
            raise self.fail(
                ("stages", 0, "enter"),
                'the first stage needs a rule with types = ["*"], so every customer has a stage',
            )
        rules.sort(key=lambda r: -stage_names.index(r.target))
        activity = self.doc.get("activity", {})
        counters = self.doc.get("counters", {})
        return StageModel(
            name=str(meta["name"]),
            version=meta["version"],
            description=str(meta.get("description", "")).strip(),
            forward_only=forward_only,
            stages=stage_names,
            stage_rules=tuple(rules),
            overlays=tuple(self._resolve_overlays(overlays)),
            activity_directions=(
                self.names(activity["directions"], ("activity", None, "directions"))
                if "directions" in activity
                else None
            ),
            activity_exclude_types=frozenset(activity.get("exclude_types", [])),
            purchase_types=frozenset(counters.get("purchase_types", ["purchase"])),
            complaint_types=frozenset(counters.get("complaint_types", ["ticket_opened"])),
            resolution_types=frozenset(counters.get("resolution_types", ["ticket_resolved"])),
            parameters=self.parameters,
            source=self.source,
            descriptions={
                str(s["name"]): str(s.get("description", "")).strip()
                for s in [*raw_stages, *self.doc.get("overlays", [])]
            },
        )

    def _stage_names(self, raw_stages: list[Any]) -> tuple[str, ...]:
        names: list[str] = []
        for i, raw in enumerate(raw_stages):
            name = raw.get("name") if isinstance(raw, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise self.fail(("stages", i, "name"), "each stage needs a snake_case `name`")
            if name in names:
                raise self.fail(("stages", i, "name"), f"stage {name!r} is defined twice")
            names.append(name)
        return tuple(names)

    def _overlays(self, forward_only: bool) -> list[dict[str, Any]]:
        raw_overlays = self.doc.get("overlays", [])
        if raw_overlays and forward_only:
            raise self.fail(
                ("overlays", 0, None),
                "a forward_only model cannot have overlays (they move customers back)",
            )
        names = set(self.stage_names)
        for i, raw in enumerate(raw_overlays):
            name = raw.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise self.fail(("overlays", i, "name"), "each overlay needs a snake_case `name`")
            if name in names:
                raise self.fail(("overlays", i, "name"), f"name {name!r} is used twice")
            if not isinstance(raw.get("level"), int):
                raise self.fail(("overlays", i, "level"), "each overlay needs an integer `level`")
            names.add(name)
        return list(raw_overlays)

    def _resolve_overlays(self, raw_overlays: tuple[dict[str, Any], ...]) -> list[Overlay]:
        result = []
        for i, raw in enumerate(raw_overlays):
            where = ("overlays", i, "enter")
            enter = tuple(self.rule(r, raw["name"], where, j) for j, r in enumerate(raw["enter"]))
            where = ("overlays", i, "exit")
            exit_ = tuple(
                self.rule(r, raw["name"], where, j) for j, r in enumerate(raw.get("exit", []))
            )
            result.append(
                Overlay(raw["name"], raw["level"], str(raw.get("description", "")), enter, exit_)
            )
        return result

    def rule(
        self, raw: Any, target: str, where: tuple[str, int | None, str | None], j: int
    ) -> Rule:
        table, index, sub = where
        self.rule_at = (sub or "enter", j)
        try:
            return self._rule(raw, target, table, index, j)
        finally:
            self.rule_at = None

    def _rule(self, raw: Any, target: str, table: str, index: int | None, j: int) -> Rule:
        where = (table, index, None)
        if not isinstance(raw, dict):
            raise self.fail(where, "each rule must be a table")
        unknown = set(raw) - RULE_KEYS
        if unknown:
            allowed = ", ".join(sorted(RULE_KEYS))
            raise self.fail(
                (table, index, sorted(unknown)[0]), f"unknown rule key (allowed: {allowed})"
            )

        def at(key: str) -> tuple[str, int | None, str | None]:
            return (table, index, key)

        def numbers(key: str) -> tuple[tuple[str, float], ...]:
            value = raw.get(key, {})
            if not isinstance(value, dict):
                raise self.fail(at(key), "expected an inline table like {score = 9}")
            return tuple((k, self.number(v, at(key))) for k, v in value.items())

        def optional(key: str) -> float | None:
            return self.number(raw[key], at(key)) if key in raw else None

        triggers = ("types", "inactive_days", *COUNTER_KEYS)
        if not any(key in raw for key in triggers):
            raise self.fail(at("enter"), f"rule {j + 1} needs `types`, a counter or inactive_days")
        requires = raw.get("requires")
        requires_rank = -1
        if requires is not None:
            if requires not in self.stage_names:
                raise self.fail(at("requires"), f"unknown stage {requires!r}")
            requires_rank = self.stage_names.index(requires)
        from_ = self.names(raw["from"], at("from")) if "from" in raw else None
        for name in from_ or ():
            if name not in self.all_names:
                raise self.fail(at("from"), f"unknown stage or overlay {name!r}")
        counter_min = optional("purchases_at_least")
        complaints = optional("open_complaints_at_least")
        within = optional("within_days")
        inactive = optional("inactive_days")
        return Rule(
            target=target,
            reason=self.interpolate(str(raw.get("reason") or _describe(raw))),
            types=self.names(raw["types"], at("types")) if "types" in raw else None,
            channels=self.names(raw["channels"], at("channels")) if "channels" in raw else None,
            directions=(
                self.names(raw["directions"], at("directions")) if "directions" in raw else None
            ),
            property_equals=tuple(
                (k, self.value(v, at("property_equals")))
                for k, v in raw.get("property_equals", {}).items()
            ),
            property_min=numbers("property_min"),
            property_max=numbers("property_max"),
            revenue_min=optional("revenue_min"),
            purchases_at_least=int(counter_min) if counter_min is not None else None,
            spend_at_least=optional("spend_at_least"),
            open_complaints_at_least=int(complaints) if complaints is not None else None,
            within_s=within * DAY_S if within is not None else None,
            inactive_s=inactive * DAY_S if inactive is not None else None,
            from_=from_,
            requires_rank=requires_rank,
        )


def _describe(raw: dict[str, Any]) -> str:
    if "inactive_days" in raw:
        return f"inactive {raw['inactive_days']} days"
    parts = []
    if "types" in raw:
        parts.append("/".join(raw["types"]))
    for key in COUNTER_KEYS:
        if key in raw:
            parts.append(f"{key.replace('_', ' ')} {raw[key]}")
    return " ".join(parts)
