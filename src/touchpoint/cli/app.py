"""The root `touchpoint` app: registers every command group and turns failures into one line.

A command group is a module of this package with `register(app)`; adding one is one line in
`GROUPS` (in the order `touchpoint --help` lists them)."""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from touchpoint import console as show
from touchpoint.errors import ConfigError, TouchpointError

GROUPS = (
    "demo",  # demo, serve
    "init",  # init
    "ingest",  # import
    "customers",  # customer show | list
    "merges",  # customer merge | unmerge
    "identity",  # identity conflicts | dismiss | merges
    "keys",  # keys create | list | revoke | rotate
    "users",  # users create | list | role | password | disable
    "contact_center",  # cc config apply | show, cc live, cc agent, cc tick
    "outbound",  # cc campaign create | list | show | next | outcome | pause
    "workforce",  # cc staffing, cc forecast, cc plan
    "simulate",  # cc simulate
    "tickets",  # tickets list | show | open | reply | status | assign | fcr
    "scores",  # score list | show | apply
    "segments",  # segment create | preview | list | show | members | export | delete
    "playbooks",  # playbook list | show | validate | test | runs | pause | resume
    "surveys",  # survey list | validate | send
    "loyalty",  # loyalty tiers | referrals
    "lifecycle",  # lifecycle summary | replay | tick | models
    "projections",  # projections status | catch-up, and tick
    "report",  # report NAME
    "models",  # model train | list | show | score
    "spend",  # spend import
    "audit",  # audit
    "privacy",  # privacy export | erase
    "decide",  # decide
)

app = typer.Typer(
    help="Touchpoint: customer lifecycle management for omnichannel contact centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Markdown: a docstring's paragraphs are re-flowed to the terminal's width (its line breaks
    # are the source's, not the reader's), `code` is shown as code.
    rich_markup_mode="markdown",
)
for _group in GROUPS:
    import_module(f"touchpoint.cli.{_group}").register(app)


def main() -> None:
    """Entry point: a mistake or a failure a user meets prints one red line on stderr and exits
    non-zero (2 for configuration, 1 otherwise), never a traceback."""
    try:
        app()
    except ConfigError as exc:
        show.error(str(exc), kind="configuration error")
        sys.exit(2)
    except TouchpointError as exc:
        show.error(str(exc))
        sys.exit(1)
    except Exception as exc:  # SQLAlchemy is imported only when a command needs the database
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):
            raise
        show.error(str(exc.orig or exc).splitlines()[0], kind="database error")
        sys.exit(1)
    except KeyboardInterrupt:
        show.error("interrupted", kind="stopped")
        sys.exit(130)
