"""The login form and logout. A failed sign-in says only that the name and password do not match
(never which), and a name tried too often from one address waits (web.session.FailedSignIns)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from touchpoint.errors import AuthError, RateLimited
from touchpoint.services import users
from touchpoint.store.engine import read_connection
from touchpoint.web import session as sessions
from touchpoint.web.auth import Change, SignInNeeded, changes, from_session, touchpoint_of
from touchpoint.web.render import page

router = APIRouter()
HOME = "/app/overview"
FAILED = "Sign-in failed: that user name and password do not match a Touchpoint user."


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this app only (no open redirect)."""
    if target and target.startswith("/app/") and not target.startswith("/app/login"):
        if "//" not in target and "\\" not in target and ".." not in target:
            return target
    return HOME


def _form(
    request: Request,
    *,
    next_: str,
    status_code: int = 200,
    problem: str | None = None,
    notice: str | None = None,
    name: str = "",
) -> HTMLResponse:
    found = sessions.read(request)
    current = found if found is not None and found.user_id is None else sessions.new()
    answer = page(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf=current.csrf,
        next=next_,
        problem=problem,
        notice=notice,
        name=name,
    )
    sessions.write(request, answer, current)
    return answer


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=500)] = None,  # noqa: A002
    out: bool = False,
) -> Response:
    try:
        signed = from_session(request, touchpoint_of(request))
    except SignInNeeded:  # a session that ended: sign in again
        signed = None
    if signed is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "You are signed out." if out else None
    return _form(request, next_=safe_next(next), notice=notice)


@router.post("/login", response_class=HTMLResponse, response_model=None)
async def login(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    name, password = form.get("user", "").strip(), form.get("password", "")
    target = safe_next(form.get("next"))
    if not sessions.token_matches(sessions.read(request), form.get("csrf")):
        return _form(
            request,
            next_=target,
            status_code=403,
            name=name,
            problem="The sign-in form had expired or your browser did not send its cookie: "
            "allow cookies for this site and sign in again.",
        )
    if not name or not password:
        return _form(
            request,
            next_=target,
            status_code=422,
            name=name,
            problem="Type a user name and a password.",
        )
    address = request.client.host if request.client else "-"
    throttle: sessions.FailedSignIns = request.app.state.failed_sign_ins
    tp = touchpoint_of(request)
    try:
        throttle.check(address, name.lower())
        with read_connection(tp.engine) as conn:
            user = users.verify(conn, name, password)
    except RateLimited as exc:
        answer = _form(request, next_=target, status_code=429, name=name, problem=str(exc))
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except AuthError:
        throttle.failed(address, name.lower())
        return _form(request, next_=target, status_code=401, name=name, problem=FAILED)
    throttle.succeeded(address, name.lower())
    users.note_login(tp.engine, user)
    signed = RedirectResponse(target, status_code=303)
    sessions.write(request, signed, sessions.new(user.id))  # a new token: no session fixation
    return signed


@router.post("/logout", response_model=None)
def logout(request: Request, _change: Annotated[Change, changes("lifecycle.read")]) -> Response:
    answer = RedirectResponse("/app/login?out=1", status_code=303)
    sessions.clear(request, answer)
    return answer
