"""The closed vocabularies of an interaction: channels, directions and types (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum

from touchpoint.domain.access import KEY_SCOPES


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"
    SMS = "sms"
    WEB = "web"
    AD = "ad"
    IN_PERSON = "in_person"
    MOBILE_APP = "mobile_app"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InteractionType(StrEnum):
    # reach
    AD_IMPRESSION = "ad_impression"
    AD_CLICK = "ad_click"
    PAGE_VIEW = "page_view"
    SOCIAL_ENGAGEMENT = "social_engagement"
    # acquisition
    SIGNUP = "signup"
    LEAD_FORM = "lead_form"
    TRIAL_STARTED = "trial_started"
    PRODUCT_VIEWED = "product_viewed"
    CART_ADDED = "cart_added"
    CHECKOUT_STARTED = "checkout_started"
    CART_ABANDONED = "cart_abandoned"
    # conversion and revenue
    PURCHASE = "purchase"
    REFUND = "refund"
    ORDER_CANCELLED = "order_cancelled"
    SUBSCRIPTION_STARTED = "subscription_started"
    # conversations
    CALL = "call"
    CHAT = "chat"
    EMAIL_RECEIVED = "email_received"
    EMAIL_SENT = "email_sent"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    SMS_SENT = "sms_sent"
    SMS_RECEIVED = "sms_received"
    SOCIAL_MESSAGE = "social_message"
    # service
    TICKET_OPENED = "ticket_opened"
    TICKET_RESOLVED = "ticket_resolved"
    SURVEY_RESPONSE = "survey_response"
    # loyalty, advocacy, churn
    REFERRAL = "referral"
    REVIEW = "review"
    CANCELLATION = "cancellation"
    UNSUBSCRIBE = "unsubscribe"
    # consent (domain/consent.py): granted or withdrawn for the channel and a purpose property
    CONSENT_GRANTED = "consent_granted"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    # profile events (Segment identify/alias) and anything unmapped
    IDENTIFY = "identify"
    ALIAS = "alias"
    CUSTOM = "custom"


CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
DIRECTIONS: tuple[str, ...] = tuple(d.value for d in Direction)
INTERACTION_TYPES: tuple[str, ...] = tuple(t.value for t in InteractionType)

# What an API key may do: ingest (write), read, admin (both, and changes by hand).
API_KEY_SCOPES: tuple[str, ...] = KEY_SCOPES  # roles and key-only scopes: domain.access

# Which conflicts merge protection recorded a listing shows (here, not in domain.identity, so the
# CLI's help text does not load phonenumbers and email-validator).
CONFLICT_STATUSES = ("open", "merged", "dismissed", "all")

# What the audit trail records (services/audit.py): reads of one person's data, searches and
# exports, and every change made by hand.
AUDIT_ACTIONS: tuple[str, ...] = (
    "customer.view",
    "customer.search",
    "customer.export",
    "customer.merge",
    "customer.unmerge",
    "customer.erase",
    "conflict.dismiss",
    "key.create",
    "key.revoke",
    "key.rotate",
    "user.create",
    "user.role",
    "user.password",
    "user.disable",
    "cc.config",
    "consent.change",  # a caller's interaction changed a customer's consent (services/recording)
    "ticket.change",
    "scores.config",  # a score file applied (services/scores.py)
    "model.train",  # a predictive model trained and saved as a version (services/models.py)
    "segment.create",  # a segment saved (services/segments.py)
    "segment.delete",  # a segment, its members and history forgotten (services/segments.py)
)
