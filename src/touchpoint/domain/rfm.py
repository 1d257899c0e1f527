"""RFM's vocabulary, defined once: the quintiles, the eleven named groups and the R x FM grid
that names them (analytics.rfm computes the scores; segments read the groups)."""

from __future__ import annotations

from typing import Final

DAY_S: Final = 86_400
QUINTILES: Final = {"q20": 0.2, "q40": 0.4, "q60": 0.6, "q80": 0.8}
GROUPS: Final = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)
GRID: Final = {
    5: ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
}


def rfm_group(r: int, fm: int) -> str:
    """The named group of an R score and an FM score (both 1-5)."""
    return GRID[r][fm - 1]


def fm_score(f: int, m: int) -> int:
    """FM: the mean of F and M, rounded half up."""
    return (f + m + 1) // 2
