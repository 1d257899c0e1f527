"""Moments as text that sorts like time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(at: datetime) -> str:
    """Fixed-width UTC ISO text with microseconds and a Z (URL-safe: no '+'), so two moments
    compare as strings the way they compare as times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
