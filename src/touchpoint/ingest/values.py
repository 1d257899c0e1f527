"""What a value from outside must be before it is stored, checked in one place: JSON bodies read
as Python reads them, nested values walked once (depth, integers, numbers, text), and text that
can be stored and sent back. Ids and identity values also refuse control characters.

Why each rule: a value nested past `MAX_DEPTH` overflows recursive code further on (orjson's
writer stops at 254 levels, the deep merge of a Segment batch's context recursed without end);
an integer past 64 bits or a NaN cannot be stored as JSON (orjson writes NaN as null); a lone
surrogate (`"\\ud800"`) cannot be encoded as UTF-8, so it can be neither stored nor answered; a
NUL cannot be stored in a PostgreSQL text column, and a control character in an id is invisible
to the person reading it (and SQLite's duplicate check missed an id with a NUL in it).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 32  # levels of objects and arrays below a field
INT_MIN, INT_MAX = -(2**63), 2**64 - 1  # what JSON columns and orjson store exactly
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels of objects and arrays"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # C0, DEL, C1 and lone surrogates


def loads(body: bytes | str) -> Any:
    """A JSON text as Python's own reader takes it, fast: orjson first, and only when it
    refuses, the standard library, which also reads lone surrogates and NaN/Infinity, so that
    such a value is refused with its item (by `json_value_error`) instead of losing the whole
    body. orjson.JSONDecodeError (orjson's message) when neither reads it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
            raise exc from None


def text_error(text: str) -> str | None:
    """Why a text cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text must not contain a NUL character"
    return f"text must be valid Unicode; it holds a lone surrogate {ascii(found.group())}"


def id_error(text: str) -> str | None:
    """Why a text cannot be an id or identity value (control characters refused), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    if "\ud800" <= found.group() <= "\udfff":
        return f"text must be valid Unicode; it holds a lone surrogate {ascii(found.group())}"
    return f"an id must not contain control characters; it holds {ascii(found.group())}"


def json_value_error(value: Any) -> str | None:
    """Why a JSON value (a field's object, array or scalar) cannot be stored, or None: nested
    deeper than MAX_DEPTH, an integer past 64 bits, a number that is not finite, or text (keys
    included) that `text_error` refuses. The message names the path below the field (but for
    nesting, where the path is the problem)."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 0, ())]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth, path = pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return _at(path, text_error(item))
        elif isinstance(item, dict):
            if depth == MAX_DEPTH:
                return TOO_DEEP
            for key, below in item.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return _at(path, f"key {ascii(key)}: {text_error(key)}")
                push((below, depth + 1, (path, key)))
        elif isinstance(item, list):
            if depth == MAX_DEPTH:
                return TOO_DEEP
            for index, below in enumerate(item):
                push((below, depth + 1, (path, index)))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return _at(path, f"{item} is not a number JSON can store")
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT_MIN <= item <= INT_MAX:
                return _at(path, f"integer {item} does not fit in 64 bits")
    return None


def _at(path: tuple[Any, ...], why: str | None) -> str:
    """`a.b[2]: why` for a linked path `((((), 'a'), 'b'), 2)`; just `why` at the top."""
    parts: list[str] = []
    while path:
        path, step = path
        parts.append(f"[{step}]" if isinstance(step, int) else f".{printable(str(step))}")
    where = "".join(reversed(parts)).lstrip(".")
    return f"{where}: {why}" if where else str(why)


def printable(text: str) -> str:
    """`text` safe to encode as UTF-8 and to show: a lone surrogate becomes its escape `\\ud800`
    (everything else is kept). Used on every answer that echoes what a client sent."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
