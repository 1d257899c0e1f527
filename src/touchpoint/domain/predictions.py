"""Predictive scores' terms, defined once: what the two targets mean, who is scored for each,
the horizon and the cut-offs a model is trained and tested on, and the feature groups a
prediction's reasons are told in. Features, labels, training and every face read these.

- A customer has **converted** once the lifecycle engine has moved them into the stage
  `CONVERSION_STAGE` or any later progression stage (a first purchase or subscription, in the
  default model).
- The **conversion** target: among customers known at the cut-off (an interaction at or before
  it) who have not converted, those who convert within the horizon after it.
- The **churn** target: among customers who have converted and are not in the `CHURNED_OVERLAY`
  at the cut-off, those the engine moves into it within the horizon — by the stage model's own
  rule (a cancellation, or no activity for its `churned_after_days`), not a definition of ours.
- A **cut-off** is the moment features are computed as of: nothing after it is read. Labels look
  at (cut-off, cut-off + horizon]. The **test cut-off** is the latest one whose horizon has been
  seen in full (`at` − horizon); the training cut-offs precede it, one horizon apart, so no
  training label reads an event the test's features do not precede.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

CONVERSION: Final = "conversion"
CHURN: Final = "churn"
TARGETS: Final = (CONVERSION, CHURN)

CONVERSION_STAGE: Final = "conversion"  # the progression stage a first purchase enters
CHURNED_OVERLAY: Final = "churned"  # the overlay the stage model puts churned customers in

LEAD_SCORE_MODEL: Final = "lead"  # the rule-based score read as the lead_score feature
DEFAULT_HORIZON_DAYS: Final = 90
TRAINING_CUTOFFS: Final = 3  # training cut-offs before the test cut-off, one horizon apart
MIN_ROWS: Final = 50  # below this many eligible customers (or MIN_POSITIVES of each class) in
MIN_POSITIVES: Final = 5  # training or test, the metrics are noise: training refuses

# The feature groups, in the order reasons are listed; a prediction's reasons name groups, not
# single columns (the share of chat and of phone contacts tell one story: the channel mix).
FEATURE_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "recency": ("days_since_active", "days_since_purchase"),
    "frequency": ("active_30d", "active_90d", "active_total", "purchases"),
    "monetary": ("revenue_total", "revenue_90d", "refunds"),
    "tenure": ("tenure_days",),
    "channel_mix": ("share_phone", "share_email", "share_chat", "share_web", "share_social"),
    "support": ("support_contacts_90d", "wait_mean_s", "wait_max_s", "abandoned_contacts"),
    "surveys": ("csat_mean", "csat_last", "nps_last"),
    "tickets": ("tickets_opened", "tickets_unresolved", "repeat_ticket_contacts"),
    "stage": ("stage_rank", "at_risk", "days_in_stage"),
    "lead_score": ("lead_score",),
    "email": ("emails_sent_90d", "emails_opened_90d", "email_open_rate", "emails_clicked_90d"),
}
FEATURES: Final = tuple(name for names in FEATURE_GROUPS.values() for name in names)
RFM_FEATURES: Final = ("days_since_active", "active_total", "revenue_total")  # the baseline's
RECENCY_FEATURE: Final = "days_since_active"  # the one-feature baseline

_HORIZON = re.compile(r"^\s*(\d+)\s*(d|w)?\s*$")


@dataclass(frozen=True)
class TargetTerms:
    name: str
    scored: str  # who is scored, as a person reads it
    positive: str  # what counts as a yes


TARGET_TERMS: Final[dict[str, TargetTerms]] = {
    CONVERSION: TargetTerms(
        CONVERSION,
        "customers known and not yet converted at the cut-off",
        f"entered {CONVERSION_STAGE} (or a later stage) within the horizon",
    ),
    CHURN: TargetTerms(
        CHURN,
        f"customers converted and not {CHURNED_OVERLAY} at the cut-off",
        f"entered the {CHURNED_OVERLAY} overlay within the horizon",
    ),
}


class PredictionError(ValueError):
    """A target, horizon or cut-off that cannot be used; the message names it."""


def check_target(name: str) -> TargetTerms:
    if name not in TARGET_TERMS:
        raise PredictionError(f"unknown model {name!r}; use one of {', '.join(TARGETS)}")
    return TARGET_TERMS[name]


def parse_horizon(text: str) -> int:
    """A horizon in days: "90d", "90" (days) or "13w" (weeks); between 1 and 730 days."""
    match = _HORIZON.match(text)
    if match is None:
        raise PredictionError(f"--horizon {text!r}: write a number of days or weeks, e.g. 90d, 13w")
    days = int(match[1]) * (7 if match[2] == "w" else 1)
    if not 1 <= days <= 730:
        raise PredictionError(f"--horizon {text!r}: between 1 and 730 days")
    return days


def cutoffs(at: datetime, horizon_days: int, training: int = TRAINING_CUTOFFS) -> list[datetime]:
    """The training cut-offs, oldest first, then the test cut-off (the last one)."""
    step = timedelta(days=horizon_days)
    test = at - step
    return [test - step * k for k in range(training, 0, -1)] + [test]
