"""Touchpoint's exception tree; the API and the CLI translate it in one place each.

TouchpointError
 ├── ValidationError   bad input (HTTP 422, CLI one-line message)
 ├── NotFound          no such customer/key/file (HTTP 404)
 ├── Conflict          state forbids the change (HTTP 409)
 ├── AuthError         missing/invalid API key (HTTP 401)
 │    └── Forbidden    the key lacks the scope (HTTP 403)
 ├── ConfigError       bad settings or files (CLI message, exit 2)
 ├── RateLimited       a key sent more than its rate (HTTP 429 with Retry-After)
 └── BackendError      an engine behind the request failed: the analytics refresh, the isolated
      │                worker, DuckDB and its scanners (HTTP 503: the request was fine, retry later)
      └── IsolatedJobError (touchpoint.isolation) a job in the worker process failed
"""


class TouchpointError(Exception):
    status_code = 500


class ValidationError(TouchpointError):
    status_code = 422


class NotFound(TouchpointError):
    status_code = 404


class Conflict(TouchpointError):
    status_code = 409


class AuthError(TouchpointError):
    status_code = 401


class Forbidden(AuthError):
    status_code = 403


class ConfigError(TouchpointError):
    status_code = 500


class RateLimited(TouchpointError):
    """Too many requests for one key; `retry_after` is whole seconds until it may send again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendError(TouchpointError):
    """The request was valid but an engine serving it failed; the message is one line."""

    status_code = 503


def one_line(text: str) -> str:
    """An engine's error message as one line: its first paragraph, lines joined (DuckDB appends
    the offending SQL with a caret after a blank line, which a user need not read)."""
    paragraph = text.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines() if line.strip())


def describe(error: BaseException) -> str:
    """One line saying what went wrong: our errors and DuckDB's ("IO Error: ...") name their kind
    in the message; other exceptions get their type's name in front."""
    package = type(error).__module__.partition(".")[0].lstrip("_")  # DuckDB's are in _duckdb
    if isinstance(error, TouchpointError) or package == "duckdb":
        return one_line(str(error))
    return one_line(f"{type(error).__name__}: {error}")
