"""A seeded synthetic business — customers, campaigns and a contact center — for `touchpoint demo`."""

from pathlib import Path

DEMO_SPEND = Path(__file__).with_name("campaign_spend.csv")  # the campaigns' costs, for CAC/ROI
