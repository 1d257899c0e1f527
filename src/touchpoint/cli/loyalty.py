"""`touchpoint loyalty tiers|referrals`: the scheduler's loyalty job, run now from the terminal —
who moved tier (up or down, and why) and which referrers were rewarded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from touchpoint import console as show
from touchpoint.cli.options import DataDir, opened

if TYPE_CHECKING:
    from touchpoint.services.loyalty import ReferralReward, TierChange

group = typer.Typer(
    help="Loyalty: points (earned, redeemed, expiring) and tiers by <data dir>/loyalty.toml "
    "([[tiers]] with name and points and/or spend; [referrals] reward_points). The scheduler "
    "(the server, `touchpoint tick`) runs the tier job and the referral rewards on every run; "
    "these commands run them now.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="loyalty")


@group.command("tiers")
def tiers(data_dir: DataDir = None) -> None:
    """Move every customer whose tier due (by their points balance or their last 12 months'
    spend) is not the tier last set, up or down; print who moved. Safe to repeat."""
    from touchpoint.services.loyalty import load_policy, move_tiers, policy_path

    with opened(data_dir) as tp:
        if not load_policy(tp.settings.data_dir).tiers:
            where = show.plain(str(policy_path(tp.settings.data_dir)))
            tables = show.plain("[[tiers]]")
            show.console.print(
                f"No tiers are set: add {tables} tables (name, points and/or spend) to {where}; "
                "until then tiers are only what playbooks set."
            )
            return
        changes = move_tiers(tp)
    print_tier_changes(changes)


def print_tier_changes(changes: list[TierChange]) -> None:
    rows = [
        (c.customer_id, c.before or "-", c.after or "-", c.why, _recorded(c.recorded))
        for c in changes
    ]
    _print("Tier changes", ("customer", "from", "to", "why", "recorded"), rows)


@group.command("referrals")
def referrals(data_dir: DataDir = None) -> None:
    """Award the referrer of each customer who has made their first purchase since being
    referred ([referrals] reward_points), once per referred customer; print the awards."""
    from touchpoint.services.loyalty import reward_referrals

    with opened(data_dir) as tp:
        rewards = reward_referrals(tp)
    print_rewards(rewards)


def print_rewards(rewards: list[ReferralReward]) -> None:
    rows = [
        (r.referrer_id, r.referred_id, str(r.points), show.when(r.at), _recorded(r.recorded))
        for r in rewards
    ]
    columns = ("referrer", "referred", "points", "first purchase", "recorded")
    _print("Referral rewards", columns, rows)


def _recorded(recorded: bool) -> str:
    return "yes" if recorded else "no (already written)"


def _print(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        show.console.print(f"No {title.lower()} due.")
        return
    table = Table(title=f"{title} ({len(rows)})")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(show.plain(cell) for cell in row))
    show.console.print(table)
