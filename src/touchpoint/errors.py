"""Touchpoint's exception tree; the API and the CLI translate it in one place each.

TouchpointError
 ├── ValidationError   bad input (HTTP 422, CLI one-line message)
 ├── NotFound          no such customer/key/file (HTTP 404)
 ├── Conflict          state forbids the change (HTTP 409)
 ├── AuthError         missing/invalid/insufficient API key (HTTP 401/403)
 └── ConfigError       bad settings or files (CLI message, exit 2)
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
