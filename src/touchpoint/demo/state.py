"""What a demo run leaves in its data directory for the next run: the moment its business ends
(the first run's moment, so a re-run generates the same interactions and stores nothing twice),
its seed, and the secrets of the API keys and the web app user it created (stored hashed, so
shown only from here).

The file holds secrets, so it is written readable by its owner only (0600)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STATE_FILE = "demo.json"


@dataclass(frozen=True)
class DemoState:
    end: datetime  # the demo business's 18 months end here: the moment of its first run
    seed: int
    keys: dict[str, str] = field(default_factory=dict)  # scope -> secret
    user: dict[str, str] = field(default_factory=dict)  # the web app's demo user: name, password


def read_state(path: Path) -> DemoState | None:
    """The state an earlier run left at `path`; None if there is none or it cannot be read."""
    try:
        doc = json.loads(path.read_text())
        end = datetime.fromisoformat(doc["end"])
        keys = {str(scope): str(secret) for scope, secret in dict(doc.get("keys", {})).items()}
        user = {str(k): str(v) for k, v in dict(doc.get("user", {})).items()}
        state = DemoState(end=end, seed=int(doc["seed"]), keys=keys, user=user)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return state if state.end.tzinfo is not None else None


def write_state(path: Path, state: DemoState) -> None:
    """Write `state` to `path` (0600), replacing the file whole so a crash leaves the old one."""
    text = json.dumps(
        {"end": state.end.isoformat(), "seed": state.seed, "keys": state.keys, "user": state.user},
        indent=2,
    )
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    os.chmod(partial, 0o600)  # O_CREAT's mode does not apply to a file left by a crashed run
    os.replace(partial, path)
