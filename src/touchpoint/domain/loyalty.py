"""Loyalty points and tiers, as interactions in the log (no table of their own): an award is a
`custom` interaction named `loyalty_points` with `properties.points` (and a reason), a redemption
one named `loyalty_redeemed` with the points spent, a tier one named `loyalty_tier` with
`properties.tier`. A customer's balance is the sum of awards minus the sum of redemptions; their
tier is the last one set."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

POINTS: Final = "loyalty_points"
REDEEMED: Final = "loyalty_redeemed"
TIER: Final = "loyalty_tier"
NAMES: Final = (POINTS, REDEEMED, TIER)


@dataclass(frozen=True, slots=True)
class Loyalty:
    balance: int
    earned: int
    redeemed: int
    tier: str | None


def fold(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> Loyalty:
    """The balance and tier from (name, properties) in the order they occurred; a row whose
    points are not a whole number counts nothing."""
    earned = redeemed = 0
    tier: str | None = None
    for name, properties in rows:
        points = properties.get("points")
        whole = points if isinstance(points, int) and not isinstance(points, bool) else 0
        if name == POINTS:
            earned += whole
        elif name == REDEEMED:
            redeemed += whole
        elif name == TIER and isinstance(properties.get("tier"), str):
            tier = properties["tier"]
    return Loyalty(earned - redeemed, earned, redeemed, tier)
