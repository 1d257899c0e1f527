"""ingest/values.py: the one walk that bounds nesting and checks numbers and text, the JSON
reader that lets such values reach that walk, and text made printable for answers."""

from __future__ import annotations

import orjson
import pytest

from touchpoint.ingest.values import (
    MAX_DEPTH,
    id_error,
    json_value_error,
    loads,
    printable,
    text_error,
)


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_nesting_is_bounded_at_32_levels_of_objects_and_arrays() -> None:
    assert MAX_DEPTH == 32
    assert json_value_error(nested(32)) is None
    assert json_value_error(nested(33)) == "nested deeper than 32 levels of objects and arrays"
    assert json_value_error({"a": [[[]]]}) is None  # 4 levels: arrays count like objects
    assert json_value_error(nested(10_000)) is not None  # a walk, not a recursion


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"n": 2**64 - 1, "m": -(2**63)}, None),
        ({"n": 2**64}, "n: integer 18446744073709551616 does not fit in 64 bits"),
        ({"a": [1, {"b": -(2**63) - 1}]}, "a[1].b: integer -9223372036854775809 does not fit"),
        ({"x": float("nan")}, "x: nan is not a number JSON can store"),
        ({"x": [float("-inf")]}, "x[0]: -inf is not a number JSON can store"),
        ({"t": "a\x00b"}, "t: text must not contain a NUL character"),
        ({"t": "tab\tand newline\n are fine"}, None),
        ({"t": "\ud83d"}, "t: text must be valid Unicode; it holds a lone surrogate '\\ud83d'"),
        ({"t": "\U0001f600"}, None),  # a pair, as JSON's "\ud83d\ude00" reads
        ({"k\udc00": 1}, "key 'k\\udc00': text must be valid Unicode; it holds a lone"),
        ({"flag": True, "none": None}, None),
    ],
)
def test_numbers_and_text_a_column_cannot_store_are_named(value: object, error: str | None) -> None:
    found = json_value_error(value)
    if error is None:
        assert found is None
    else:
        assert found is not None and found.startswith(error), found


def test_ids_refuse_control_characters_and_text_only_nul() -> None:
    assert text_error("a\tb") is None
    assert id_error("a\tb") == "an id must not contain control characters; it holds '\\t'"
    assert id_error("a\x7fb") == "an id must not contain control characters; it holds '\\x7f'"
    assert id_error("a\x85b") == "an id must not contain control characters; it holds '\\x85'"
    assert id_error("ann@exämple.com") is None


def test_loads_reads_what_orjson_refuses_but_python_reads() -> None:
    assert loads(b'{"a": 1}') == {"a": 1}
    assert loads(b'{"a": "\\ud800"}') == {"a": "\ud800"}
    assert str(loads(b"[NaN]")[0]) == "nan"
    with pytest.raises(orjson.JSONDecodeError, match="unexpected character"):
        loads(b"{not json")
    with pytest.raises(orjson.JSONDecodeError):  # past both readers' depth
        loads(b"[" * 100_000 + b"]" * 100_000)


def test_printable_escapes_lone_surrogates_only() -> None:
    assert printable("plain") == "plain"
    assert printable("ünï\U0001f600") == "ünï\U0001f600"
    assert printable("a\ud800b") == "a\\ud800b"
    printable("a\ud800b").encode("utf-8")  # encodes now
