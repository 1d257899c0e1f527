"""Playbook files: the shipped ones (this package's `playbooks/`) and a data directory's own
(`<data dir>/playbooks/*.toml`, which replace a shipped one of the same name), read and checked
as a whole, each problem named by file and line; and the Jinja2 templates their emails use."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from touchpoint.domain.playbook_policy import DEFAULT_POLICY, Policy, parse_policy
from touchpoint.domain.playbooks import Playbook, PlaybookError, parse_playbook
from touchpoint.errors import ValidationError

SHIPPED_DIR = Path(__file__).parent / "playbooks"
TEMPLATES = "templates"
POLICY_FILE = "policy.toml"  # quiet hours, caps, send-by window (not a playbook)
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_PATH = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")


@dataclass(frozen=True, slots=True)
class PlaybookFile:
    playbook: Playbook
    path: Path
    shipped: bool


def playbooks_dir(data_dir: Path) -> Path:
    return data_dir / "playbooks"


def read_playbook(path: Path, text: str | None = None, *, stages: tuple[str, ...] = ()) -> Playbook:
    """One file, checked as a whole: a ValidationError lists every problem as `file:line: …`."""
    source = path.read_text(encoding="utf-8") if text is None else text
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path.name}: not valid TOML: {exc}") from None
    try:
        return parse_playbook(raw, stages=stages)
    except PlaybookError as exc:
        lines = source.splitlines()
        found = "; ".join(
            f"{path.name}:{line_of(lines, where)}: {where}: {message}"
            for where, message in exc.problems
        )
        raise ValidationError(found) from None


def line_of(lines: list[str], where: str) -> int:
    """The line a problem's path (`steps[2].wait`, `trigger.channel`, `reentry`) is on: the key's
    own line within its table when found, else the table's header, else 1."""
    match = _PATH.match(where)
    if match is None:
        return 1
    table, index, key = match[1], match[2], match[3]
    if index is None and key is None:
        return _key_line(lines, 0, len(lines), table, top=True) or 1
    start, end = _table_span(lines, table, int(index) if index is not None else None)
    if start is None:
        return _key_line(lines, 0, len(lines), table, top=True) or 1
    return (_key_line(lines, start + 1, end, key) if key else None) or start + 1


def _table_span(lines: list[str], table: str, index: int | None) -> tuple[int | None, int]:
    seen = -1
    start: int | None = None
    for n, line in enumerate(lines):
        header = _HEADER.match(line)
        if header is None:
            continue
        if start is not None:
            return start, n
        if header[1] == table:
            seen += 1
            if index is None or seen == index:
                start = n
    return start, len(lines)


def _key_line(lines: list[str], start: int, end: int, key: str, *, top: bool = False) -> int | None:
    for n in range(start, end):
        if top and _HEADER.match(lines[n]):
            return None
        found = _KEY.match(lines[n])
        if found and found[1] == key:
            return n + 1
    return None


def load_playbooks(data_dir: Path, *, stages: tuple[str, ...] = ()) -> dict[str, PlaybookFile]:
    """Every playbook by name: the shipped ones, replaced by the data directory's of the same name."""
    found: dict[str, PlaybookFile] = {}
    for folder, shipped in ((SHIPPED_DIR, True), (playbooks_dir(data_dir), False)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.name == POLICY_FILE:
                continue
            playbook = read_playbook(path, stages=stages)
            found[playbook.name] = PlaybookFile(playbook, path, shipped)
    return found


def load_policy(data_dir: Path) -> Policy:
    """The data directory's playbooks/policy.toml (quiet hours, caps, send-by), else the
    defaults; a file with problems is refused as a whole, each problem by line."""
    path = playbooks_dir(data_dir) / POLICY_FILE
    if not path.is_file():
        return DEFAULT_POLICY
    source = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path.name}: not valid TOML: {exc}") from None
    policy, problems = parse_policy(raw)
    if problems:
        lines = source.splitlines()
        raise ValidationError(
            "; ".join(f"{path.name}:{line_of(lines, w)}: {w}: {m}" for w, m in problems)
        )
    return policy


def template_environment(data_dir: Path) -> jinja2.Environment:
    """Templates from the data directory's playbooks/templates, then the shipped ones; an
    undefined name fails the render (a step fails visibly, never sends a blank)."""
    folders = [playbooks_dir(data_dir) / TEMPLATES, SHIPPED_DIR / TEMPLATES]
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
    )


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


def render_email(
    env: jinja2.Environment, action: dict[str, Any], context: dict[str, Any]
) -> RenderedEmail:
    """The subject, the plain-text part (always) and the HTML part (if the action asks for it);
    a template that is missing or fails to render is a ValidationError naming it."""
    name = str(action["template"])
    try:
        subject = env.from_string(str(action["subject"])).render(context).strip()
        text = env.get_template(f"{name}.txt.j2").render(context)
        html = env.get_template(f"{name}.html.j2").render(context) if action.get("html") else None
    except jinja2.TemplateError as exc:
        raise ValidationError(f"template {name}: {type(exc).__name__}: {exc}") from None
    return RenderedEmail(subject.replace("\n", " "), text, html)
