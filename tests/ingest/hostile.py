"""Hypothesis strategies for hostile input to the importers: text no sane sender writes (NUL,
control characters, BOMs, lone surrogates, separators, line breaks), numbers past every bound,
deep nesting and dates that are no dates — mixed with valid values, so some items land."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "\x7f",
    "\u0085",
    "\ufeff",
    "\u2028",
    "\r",
    "\n",
    "\r\n",
    '"',
    '""',
    '"quoted"',
    ",",
    ";",
    "\t",
    "9" * 30,
    "18446744073709551616",
    "-9223372036854775809",
    "1e309",
    "NaN",
    "Infinity",
    "undefined",
    "null",
    "0",
    "test@test.com",
    "[object Object]",
    "2026-02-30T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:30:00-01:00",
    "0001-01-01T00:30:00+01:00",
    "2099-01-01T00:00:00Z",
    "1700000000",
    "yesterday",
    "2026-03-01T09:30:00",
    "{}",
    "[]",
    "{" * 40,
    "x" * 300,
]
LONE_SURROGATES = ["\ud800", "x\udfffy"]  # only where JSON escapes them: not in a UTF-8 file

nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))

# Valid values, by column: some rows must land for "accepted rows are stored once" to say much.
GOOD: dict[str, list[str]] = {
    "type": ["call", "purchase", "page_view", "signup"],
    "channel": ["phone", "web", "email"],
    "occurred_at": ["2026-03-01T09:30:00Z", "2026-03-02T10:00:00+02:00", "1970-01-01T00:00:00Z"],
    "email": ["ann@example.com", "bob@example.com", "Ann@Example.com"],
    "phone": ["+1 202 555 0142", "(415) 555-0100", "000-000-0000"],
    "external_id": ["u-1", "u-2", "undefined"],
    "anonymous_id": ["dev-1", "dev-2", "null"],
    "revenue": ["10", "-5.5", "0"],
    "currency": ["USD", "EUR"],
    "duration_s": ["30", "0"],
    "properties.note": ["hello", "42"],
    "traits.name": ["Ann", "Bob"],
    "handles.twitter": ["@ann", "@bob"],
    "source": ["google", "newsletter"],
    "colour": ["red"],  # not a field: kept as a property
}
COLUMNS = ["id", *GOOD]
IDENTITY_COLUMNS = ["email", "phone", "external_id", "anonymous_id", "handles.twitter"]


@st.composite
def cell(draw: st.DrawFn, column: str, ids: list[str]) -> str:
    """A cell of `column`: valid seven times in eight, hostile otherwise."""
    good = ids if column == "id" else GOOD[column]
    return draw(st.sampled_from(good) if draw(st.integers(0, 7)) else nasty_text)


def json_values(ids: list[str]) -> st.SearchStrategy[Any]:
    """Any JSON value Python's reader gives, hostile ones included: NaN, huge integers, lone
    surrogates, nesting."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        nasty_text,
        st.sampled_from(LONE_SURROGATES + ids),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)
        ),
        max_leaves=8,
    )
