"""Who may do what: the roles of users and API keys, and the one table saying which role holds
each permission. Every interface checks a permission against this table and nothing else (the
API in `api/deps.py`; the web app will in its own face); a test walks the API's route table and
proves each role lacking an operation's permission is refused it.

Roles (users and keys):
- **admin**: everything — users, keys, configuration, merges, erasure, the audit trail.
- **manager**: everything operational (customers, exports, analytics, ingest) but no
  administration (users, keys, merges, erasure, audit).
- **agent**: the customers and contacts they serve — a customer's profile and timeline, a
  lookup by phone or email, recording an interaction — and no exports, no analytics. (Once
  queues exist, an agent sees the customers of their queues.)
- **analyst**: aggregates (reports, stage counts) and pseudonymised rows (a customer list
  without names, emails, phones or traits); no contact details, no lookup by identity.

Scopes only API keys have:
- **ingest**: writes interactions and learns nothing back — an ingest answer does not say which
  customer an identity belongs to.
- **read**: every read a manager may make, and no change (the scope read keys always had).
- **browser**: a write key meant to be public in a web page — records interactions only, and
  only from the origins on its list (`domain.origins`); it reads nothing.
"""

from __future__ import annotations

from typing import Final

USER_ROLES: Final = ("admin", "manager", "agent", "analyst")
KEY_SCOPES: Final = ("ingest", "read", "browser", *USER_ROLES)

_READERS = ("admin", "manager", "read")

PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    # Recording interactions (the API's ingest endpoints and Segment's).
    "interactions.write": ("ingest", "browser", "admin", "manager", "agent"),
    # Next best action (GET /v1/decide): a page's browser key and an ingest key may ask about
    # the visitor by anonymous id only and get no personal answer (api/decide.py).
    "decisions.read": ("browser", "ingest", *_READERS, "agent"),
    # One person's data: a profile with contact details, its timeline, a lookup by identity.
    "customers.read": (*_READERS, "agent"),
    # The customer list: agents and readers see profiles, analysts pseudonymised rows.
    "customers.list": (*_READERS, "agent", "analyst"),
    # Aggregates: customers per stage, projections' progress, every analytics report.
    "lifecycle.read": (*_READERS, "agent", "analyst"),
    "projections.read": (*_READERS, "agent", "analyst"),
    "analytics.read": (*_READERS, "analyst"),
    # Merge protection's conflicts and the merge records (they show identity values).
    "identity.read": _READERS,
    # Changes made by hand: merging, unmerging, dismissing a conflict.
    "identity.change": ("admin",),
    # The contact center: offers, agents' states, accepting and ending contacts (a front end
    # such as Asterisk drives it with a manager key; an agent acts only as their own agent).
    "cc.route": ("admin", "manager", "agent"),
    # The live picture of queues and agents.
    "cc.read": (*_READERS, "agent", "analyst"),
    # Tickets (cases) and their SLA clocks: reading them, and opening, replying, moving and
    # assigning them (an agent replies only as their own agent).
    "tickets.read": (*_READERS, "agent"),
    "tickets.write": ("admin", "manager", "agent"),
    # Outbound campaigns: creating one (its dialer list from a stage, carts or a CSV), pausing
    # and resuming it — a manager's decision; dialling and outcomes are cc.route, reading cc.read.
    "campaigns.write": ("admin", "manager"),
    # Saving and deleting segments (saved rules over customers): they feed playbooks and
    # campaigns, so a manager's decision; reading them is customers.list, counts analytics.read.
    "segments.write": ("admin", "manager"),
    # Playbooks (automation): reading them, their runs and dry runs (which show customers'
    # addresses); pausing and resuming them — what the business sends, a manager's decision.
    "playbooks.read": _READERS,
    "playbooks.write": ("admin", "manager"),
    # Administration.
    "cc.config": ("admin",),
    # Applying a score file: it rescores every customer (reading scores is customers.read).
    "scores.config": ("admin",),
    "keys.admin": ("admin",),
    "users.admin": ("admin",),
    "audit.read": ("admin",),
    "privacy.export": ("admin",),
    "privacy.erase": ("admin",),
}

# Which permission lets a caller see contact details (names, emails, phones, traits) in a row
# that others may see pseudonymised, and learn which customer an identity belongs to.
CONTACT_DETAILS: Final = "customers.read"

# The scope of keys limited to the web origins on their list (and to a rate per client address).
BROWSER_SCOPE: Final = "browser"


def allows(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`; an unknown permission is a programming error."""
    return role in PERMISSIONS[permission]


def roles_with(permission: str) -> tuple[str, ...]:
    return PERMISSIONS[permission]


def refusal(role: str, permission: str, *, kind: str = "key") -> str:
    """The one-line reason a role is refused a permission, naming the roles that hold it."""
    holders = [r for r in KEY_SCOPES if r in PERMISSIONS[permission]]
    return (
        f"this {kind}'s role, {role}, may not do this ({permission}); allowed: {', '.join(holders)}"
    )
