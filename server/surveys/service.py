"""The surveys application service: every door (SurveyService RPCs, the survey pages) calls
these functions, in the caller's transaction. Completing is refused before anything is
written when the invitation is used or expired or the member already answered; the store's
unique indexes settle two submits at once (one wins, the other is refused)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from server.errors import DomainError, invalid, not_found
from server.surveys.model import Answer, Survey, accept, refused, validate

MAX_VALID_HOURS = 2160
DEFAULT_VALID_HOURS = 168


@dataclass(frozen=True, slots=True)
class Invitation:
    id: uuid.UUID
    survey_code: str
    member_id: uuid.UUID
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Completed:
    response_id: uuid.UUID
    survey_code: str
    title: str
    version: int
    member_id: uuid.UUID | None
    answers: dict[str, Any]
    reward: dict[str, Any]
    completed_at: dt.datetime


class SurveyStore(Protocol):
    """What the service needs from storage (server/db/surveys/repo.py)."""

    async def get(self, code: str, *, version: int | None = None) -> Survey | None: ...
    async def save(self, survey: Survey, by: str) -> Survey: ...
    async def add_invitation(self, inv: Invitation, by: str) -> None: ...
    async def invitation(self, invitation_id: uuid.UUID, *, for_update: bool
                         ) -> Invitation | None: ...
    async def has_completed(self, code: str, member_id: uuid.UUID) -> bool: ...
    async def add_response(self, survey: Survey, member_id: uuid.UUID | None,
                           invitation_id: uuid.UUID | None, answers: dict[str, Answer],
                           now: dt.datetime) -> Completed | None: ...
    async def reward(self, survey: Survey, done: Completed, now: dt.datetime
                     ) -> dict[str, Any]: ...
    async def mark_used(self, invitation_id: uuid.UUID, now: dt.datetime) -> None: ...


def survey_not_found(code: str) -> DomainError:
    return not_found("survey", code, "SURVEY_NOT_FOUND")


async def save(store: SurveyStore, survey: Survey, by: str) -> Survey:
    """Validate and save a new version (the store numbers it)."""
    validate(survey)
    return await store.save(survey, by)


async def current(store: SurveyStore, code: str) -> Survey:
    found = await store.get(code)
    if found is None:
        raise survey_not_found(code)
    return found


async def invite(store: SurveyStore, code: str, member_id: uuid.UUID, valid_hours: int,
                 now: dt.datetime, by: str) -> Invitation:
    """A new personal invitation (the caller signs its id into the link)."""
    if not 0 <= valid_hours <= MAX_VALID_HOURS:
        raise invalid("valid_hours", f"0 to {MAX_VALID_HOURS}")
    survey = await current(store, code)
    if not survey.active:
        raise refused("SURVEY_CLOSED", "the survey is not active")
    inv = Invitation(uuid.uuid4(), code, member_id,
                     now + dt.timedelta(hours=valid_hours or DEFAULT_VALID_HOURS), None)
    await store.add_invitation(inv, by)
    return inv


async def open_invitation(store: SurveyStore, invitation_id: uuid.UUID, now: dt.datetime, *,
                          for_update: bool = False) -> tuple[Invitation, Survey]:
    """The invitation and its survey if it can still be answered, else why not."""
    inv = await store.invitation(invitation_id, for_update=for_update)
    if inv is None:
        raise not_found("invitation", str(invitation_id), "SURVEY_NOT_FOUND")
    if inv.used_at is not None:
        raise refused("SURVEY_INVITATION_USED", "this invitation was already used")
    if inv.expires_at <= now:
        raise refused("SURVEY_INVITATION_EXPIRED", "this invitation has expired")
    survey = await current(store, inv.survey_code)
    if not survey.active:
        raise refused("SURVEY_CLOSED", "the survey is not active")
    if await store.has_completed(survey.code, inv.member_id):
        raise already_completed()
    return inv, survey


def already_completed() -> DomainError:
    return refused("SURVEY_ALREADY_COMPLETED", "this survey was already completed")


async def complete_invitation(store: SurveyStore, invitation_id: uuid.UUID,
                              submitted: dict[str, list[str]], now: dt.datetime) -> Completed:
    """Store the member's answers, use the invitation up and give the reward, once."""
    inv, survey = await open_invitation(store, invitation_id, now, for_update=True)
    answers = accept(survey, submitted)
    done = await store.add_response(survey, inv.member_id, inv.id, answers, now)
    if done is None:  # another submit of this member won the race
        raise already_completed()
    await store.mark_used(inv.id, now)
    reward = await store.reward(survey, done, now)
    return dataclasses.replace(done, reward=reward)


async def complete_public(store: SurveyStore, code: str, submitted: dict[str, list[str]],
                          now: dt.datetime) -> Completed:
    """Anonymous answers through the public link: stored, counted, never rewarded."""
    survey = await current(store, code)
    if not survey.active:
        raise refused("SURVEY_CLOSED", "the survey is not active")
    answers = accept(survey, submitted)
    done = await store.add_response(survey, None, None, answers, now)
    assert done is not None  # no member, so no unique conflict
    return done
