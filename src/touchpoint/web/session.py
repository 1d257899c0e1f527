"""The pages' session: a cookie signed with itsdangerous (HMAC over its content and the time it
was issued) naming the signed-in user, when they signed in and the session's CSRF token. Nothing
is stored on the server: the user's row is read on every request, so a disabled user or a
changed password ends every session at once (services.users.session_user)."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from touchpoint.automation.links import secret
from touchpoint.errors import RateLimited
from touchpoint.settings import Settings

COOKIE = "touchpoint_session"
SESSION_SECONDS = 12 * 3600  # a working day; then sign in again
_SALT = "touchpoint.web.session"  # the data directory's signing secret, its own salt


@dataclass(frozen=True)
class Session:
    """What the cookie says: a signed-in user's id and the moment they signed in (None before
    signing in), and the token every form of this session must send back."""

    csrf: str
    user_id: str | None = None
    since: datetime | None = None


def serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret(settings), salt=_SALT)


def read(request: Request) -> Session | None:
    """The request's session, if its cookie is Touchpoint's, unaltered and under a day old."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    signer: URLSafeTimedSerializer = request.app.state.sessions
    try:
        data = signer.loads(raw, max_age=SESSION_SECONDS)
        csrf, user_id, since = str(data["c"]), data.get("u"), data.get("t")
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if user_id is None or since is None:
        return Session(csrf)
    return Session(csrf, str(user_id), datetime.fromisoformat(str(since)))


def new(user_id: str | None = None) -> Session:
    """A fresh session with a fresh CSRF token (signing in makes a new one: no fixation)."""
    since = datetime.now(UTC) if user_id else None
    return Session(secrets.token_urlsafe(24), user_id, since)


def write(request: Request, response: Response, session: Session) -> None:
    """Set the cookie: HttpOnly (no script reads it), SameSite=Lax (another site's form or
    script does not send it), Secure when the page was served over https."""
    data: dict[str, object] = {"c": session.csrf}
    if session.user_id is not None and session.since is not None:
        data |= {"u": session.user_id, "t": session.since.isoformat()}
    signer: URLSafeTimedSerializer = request.app.state.sessions
    response.set_cookie(
        COOKIE,
        signer.dumps(data),
        max_age=SESSION_SECONDS,
        path="/app",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/app", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def token_matches(session: Session | None, sent: str | None) -> bool:
    """Whether a form carried this session's CSRF token (compared in constant time)."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf.encode(), sent.encode())


class FailedSignIns:
    """Failed sign-ins per (address, name) in this process: after LIMIT within WINDOW seconds,
    that pair is refused until the oldest failure is WINDOW old. Keyed by the name typed, known
    or not, so the refusal says nothing about which names exist."""

    LIMIT = 5
    WINDOW = 300.0

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get((address, name), []) if now - t < self.WINDOW]
            self._failures[(address, name)] = recent
        if len(recent) >= self.LIMIT:
            wait = max(1, int(self.WINDOW - (now - recent[0])) + 1)
            raise RateLimited(
                f"too many failed sign-ins for this name from your address; try again in {wait} s",
                retry_after=wait,
            )

    def failed(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.setdefault((address, name), []).append(time.monotonic())
            if len(self._failures) > 10_000:  # forget pairs with no recent failure
                now = time.monotonic()
                self._failures = {
                    k: v for k, v in self._failures.items() if now - v[-1] < self.WINDOW
                }

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name), None)
