"""Schemathesis fuzzes every operation from the OpenAPI document: whatever a client sends, the
API answers without a server error, every answer matches the documented schema (status codes,
content type, body), and requests the schema forbids are refused. A second run sends only data
the schema forbids (negative mode), under every kind of credential — none, a bogus key, an ingest
key, a read key, an admin key — and holds every endpoint to one promise: no 5xx.

Both are marked `slow` (about a minute each on two cores): the default run skips them, CI runs
them (`pytest -m slow`).

One check is left out: "schema-valid data is accepted". A JSON schema cannot say which phone
numbers `phonenumbers` parses or which emails are deliverable, so a schema-valid "0" is rightly
refused with a 422 naming the field."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from touchpoint.api.app import create_app
from touchpoint.runtime import open_touchpoint
from touchpoint.services.keys import create_key
from touchpoint.settings import Settings
from touchpoint.store.engine import write_transaction

# Schemathesis reads the schema when the module is collected, so the app lives at module level:
# one embedded Touchpoint in a temporary directory, with an admin key (it may ingest and read).
_DATA = Path(tempfile.mkdtemp(prefix="tp-fuzz-"))
_TP = open_touchpoint(Settings(data_dir=_DATA))
with write_transaction(_TP.engine) as _conn:
    _ADMIN = create_key(_conn, scope="admin", name="fuzz")[1]
    _INGEST = create_key(_conn, scope="ingest", name="fuzz-ingest")[1]
    _READ = create_key(_conn, scope="read", name="fuzz-read")[1]
APP = create_app(_TP)
# NDJSON bodies (POST /v1/interactions/batch takes them) go on the wire as the text generated.
for _media in ("application/x-ndjson", "application/jsonl"):
    schemathesis.serializer.alias(_media, "text/plain")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# The key is sent below; without this, Schemathesis also "omits" the Authorization header the
# security schemes declare, and a case whose only other fault it excuses fails once the key is added.
schema.config.generation.update(with_security_parameters=False)
# Negative cases (what the schema forbids, which must be refused) beside valid ones, and the
# coverage phase's edge cases (boundary numbers and lengths, missing and extra fields): the
# defaults of Schemathesis 4, set here so that a change of default cannot drop them. What a JSON
# schema cannot ask for (NaN, lone surrogates, NUL, deep nesting) is in test_ingest_edge_fuzz.py.
schema.config.generation.update(modes=list(GenerationMode))
schema.config.phases.coverage.enabled = True


# The negative run: only schema-violating requests, from the fuzzing phase (the coverage phase's
# edge cases are the first run's), each sent with the next credential in turn.
negative = schemathesis.openapi.from_asgi("/openapi.json", APP)
negative.config.generation.update(with_security_parameters=False, modes=[GenerationMode.NEGATIVE])
negative.config.phases.coverage.enabled = False
negative.config.phases.examples.enabled = False  # the documented examples are valid data
CREDENTIALS = {
    "none": {},
    "bogus": {"Authorization": "Bearer tp_not_a_key"},
    "basic bogus": {"Authorization": "Basic Og=="},  # Segment's form, an empty user
    "ingest": {"Authorization": f"Bearer {_INGEST}"},
    "read": {"Authorization": f"Bearer {_READ}"},
    "admin": {"Authorization": f"Bearer {_ADMIN}"},
}
_next_credential = cycle(CREDENTIALS)
_sent: Counter[tuple[str, str]] = Counter()  # (mode, credential) -> cases sent


@pytest.fixture(scope="module", autouse=True)
def _closed_after_the_module() -> Iterator[None]:
    yield
    _TP.close()
    shutil.rmtree(_DATA, ignore_errors=True)


pytestmark = pytest.mark.slow


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,  # the same examples on every run: CI is reproducible
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_gets_a_server_error_or_an_undocumented_answer(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_ADMIN}"}, excluded_checks=[positive_data_acceptance]
    )


@negative.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_forbidden_input_under_any_credential_gets_a_server_error(
    case: schemathesis.Case,
) -> None:
    who = next(_next_credential)
    _sent[(case.meta.generation.mode.value if case.meta else "?", who)] += 1
    case.call_and_validate(headers=CREDENTIALS[who], checks=[not_a_server_error])


def test_the_negative_run_sent_forbidden_data_under_every_credential() -> None:
    """The run above did what it says: negative cases only, each credential used (it runs
    first in this module, in file order)."""
    if not _sent:
        pytest.skip("the negative run did not run (deselected)")
    assert {mode for mode, _ in _sent} == {"negative"}
    assert {who for _, who in _sent} == set(CREDENTIALS)
