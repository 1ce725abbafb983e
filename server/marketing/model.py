"""The vocabulary of marketing: channels, purposes, campaign states, and input checks."""

from __future__ import annotations

import enum
import re

from server.errors import DomainError, ErrorKind, invalid

CHANNELS = ("sms", "email", "viber")
LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Purpose(enum.StrEnum):
    """Service messages (codes, order status) versus marketing (campaigns, greetings)."""

    SERVICE = "service"
    MARKETING = "marketing"


class CampaignState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: state -> states an operator may move it to
TRANSITIONS: dict[CampaignState, frozenset[CampaignState]] = {
    CampaignState.DRAFT: frozenset({CampaignState.RUNNING, CampaignState.SCHEDULED,
                                    CampaignState.CANCELLED}),
    CampaignState.SCHEDULED: frozenset({CampaignState.PAUSED, CampaignState.CANCELLED,
                                        CampaignState.RUNNING}),
    CampaignState.RUNNING: frozenset({CampaignState.PAUSED, CampaignState.CANCELLED,
                                      CampaignState.COMPLETED}),
    CampaignState.PAUSED: frozenset({CampaignState.RUNNING, CampaignState.CANCELLED}),
    CampaignState.COMPLETED: frozenset(),
    CampaignState.CANCELLED: frozenset(),
}


def check_transition(current: str, wanted: CampaignState) -> None:
    if wanted not in TRANSITIONS[CampaignState(current)]:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "CAMPAIGN_STATE_INVALID",
                          f"a {current} campaign cannot become {wanted.value}",
                          metadata={"state": current})


def check_channel(value: str, field: str) -> str:
    if value not in CHANNELS:
        raise invalid(field, f"unknown channel (one of {', '.join(CHANNELS)})")
    return value


def check_purpose(value: str, field: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError:
        raise invalid(field, "unknown purpose (service or marketing)") from None


def check_language(value: str, field: str) -> str:
    if not LANGUAGE.match(value):
        raise invalid(field, "a language code such as uk or en")
    return value


def check_code(value: str, field: str) -> str:
    if not CODE.match(value):
        raise invalid(field, "lower-case letters, digits, _ . - (up to 64)")
    return value
