"""`touchpoint users create|list|role|password|disable`: the people who sign in (the API with
Basic auth, the web app), each with a role: admin, manager, agent or analyst."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, cli_actor, opened
from touchpoint.domain.access import USER_ROLES

group = typer.Typer(
    help="Manage users and their roles: create, list, role, password, disable.",
    no_args_is_help=True,
)

ROLES_HELP = (
    "admin: everything (users, keys, merges, erasure, audit); manager: everything operational; "
    "agent: customers and contacts, no exports or reports; analyst: reports and pseudonymised "
    "rows, no contact details"
)
Name = Annotated[str, typer.Argument(help="The user's name: letters, digits and . _ @ -")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (at least 12 characters); otherwise one "
        "is generated and printed once",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="users")


def _stdin_password(wanted: bool) -> str | None:
    if not wanted:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _print_password(name: str, password: str, generated: bool) -> None:
    if generated:
        show.console.print(f"password for {show.plain(name)}: [bold]{show.plain(password)}[/]")
        show.console.print("Hand it over now: it cannot be shown again.", style="dim")


@group.command("create")
def users_create(
    name: Name,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(USER_ROLES)}. {ROLES_HELP}")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user with a role; the password is generated (printed once) unless given on
    standard input."""
    from touchpoint.services.users import create_user
    from touchpoint.store.engine import write_transaction

    given = _stdin_password(password_stdin)
    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        user, password = create_user(
            conn, name=name, role=role, password=given, created_by=cli_actor()
        )
    show.console.print(f"user {show.plain(user.name)} ({user.role}) created: {user.id}")
    _print_password(user.name, password, given is None)


@group.command("list")
def users_list(
    all_users: Annotated[bool, typer.Option("--all", help="Disabled users too")] = False,
    data_dir: DataDir = None,
) -> None:
    """List users by name: role, who made them, last sign-in, status."""
    from touchpoint.services.users import list_users
    from touchpoint.store.engine import read_connection

    with opened(data_dir) as tp, read_connection(tp.engine) as conn:
        users = list_users(conn, include_disabled=all_users)
    if not users:
        show.console.print("No users." if all_users else "No active users (--all: disabled too).")
        return
    table = Table(title=f"Users ({len(users)})")
    for column in ("name", "role", "created\nby", "last sign-in", "status"):
        table.add_column(column, no_wrap=column in ("name", "status"))
    for user in users:
        table.add_row(
            show.plain(user.name),
            user.role,
            f"{show.when(user.created_at)}\n{show.plain(user.created_by or '-')}",
            show.when(user.last_login_at) if user.last_login_at else "never",
            user.status,
        )
    show.console.print(table)


@group.command("role")
def users_role(
    name: Name,
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(USER_ROLES)}")],
    data_dir: DataDir = None,
) -> None:
    """Change a user's role (from their next request on)."""
    from touchpoint.services.users import set_role
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        user = set_role(conn, name, role, actor=cli_actor())
    show.console.print(f"user {show.plain(user.name)} is now {user.role}")


@group.command("password")
def users_password(
    name: Name,
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Set a new password (generated and printed once, unless given on standard input); the
    old one stops working."""
    from touchpoint.services.users import set_password
    from touchpoint.store.engine import write_transaction

    given = _stdin_password(password_stdin)
    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        user, password = set_password(conn, name, given, actor=cli_actor())
    show.console.print(f"password of {show.plain(user.name)} changed")
    _print_password(user.name, password, given is None)


@group.command("disable")
def users_disable(name: Name, data_dir: DataDir = None) -> None:
    """Refuse a user from their next request on (they stay in the audit trail)."""
    from touchpoint.services.users import disable_user
    from touchpoint.store.engine import write_transaction

    with opened(data_dir) as tp, write_transaction(tp.engine) as conn:
        user = disable_user(conn, name, actor=cli_actor())
    show.console.print(f"user {show.plain(user.name)} disabled")
