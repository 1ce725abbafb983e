"""Appeals: states, the state machine, topics and what a member may see of an appeal.

The state machine (docs/appeals.md): new -> assigned -> in_progress <-> waiting ->
resolved -> closed; resolved may be reopened (in_progress); an appeal may be (re)assigned
while open and closed from any open state when a resolution is given. Closed is final.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from server.errors import DomainError, ErrorKind, invalid


class AppealState(StrEnum):
    """Where an appeal is in its processing."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class AppealChannel(StrEnum):
    """Where an appeal came from."""

    OPERATOR = "operator"
    CALL = "call"
    WEB = "web"


S = AppealState
OPEN = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.WAITING})

# state -> the states ChangeAppealState may move it to (assignment is AssignAppeal's)
TRANSITIONS: dict[AppealState, frozenset[AppealState]] = {
    S.NEW: frozenset({S.CLOSED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.WAITING, S.RESOLVED, S.CLOSED}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
}

SUBJECT_CHARS = 200
TEXT_CHARS = 4000


def state_conflict(state: AppealState, action: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, "APPEAL_STATE_CONFLICT",
                       f"an appeal in state {state.value} cannot {action}",
                       metadata={"state": state.value, "action": action})


def check_transition(current: AppealState, target: AppealState, resolution: str,
                     had_resolution: bool) -> None:
    """Refuse a move the state machine does not allow; resolving and closing need a
    resolution (closing a resolved appeal keeps the one it has)."""
    if target not in TRANSITIONS[current]:
        raise state_conflict(current, f"move to {target.value}")
    if target is S.RESOLVED and not resolution:
        raise invalid("resolution", "required to resolve an appeal")
    if target is S.CLOSED and not resolution and not had_resolution:
        raise invalid("resolution", "required to close an appeal that was not resolved")


def check_assignable(current: AppealState) -> None:
    if current not in OPEN:
        raise state_conflict(current, "be assigned")


def text(value: str, field_path: str, chars: int, *, required: bool) -> str:
    """Trimmed free text within its length; INVALID_ARGUMENT naming the field."""
    value = value.strip()
    if required and not value:
        raise invalid(field_path, "required")
    if len(value) > chars:
        raise invalid(field_path, f"at most {chars} characters")
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """Routes appeals: the queue they go to and how long they may take."""

    code: str
    name: str
    queue: str
    deadline_minutes: int
    active: bool = True

    def due(self, created_at: dt.datetime) -> dt.datetime:
        return created_at + dt.timedelta(minutes=self.deadline_minutes)


def check_topic(topic: Topic) -> Topic:
    code = text(topic.code, "topic.code", 64, required=True)
    if not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
        raise invalid("topic.code", "letters, digits, '_' and '-' only")
    if topic.deadline_minutes <= 0 or topic.deadline_minutes > 525_600:
        raise invalid("topic.deadline_minutes", "between 1 and 525600 (a year)")
    return Topic(code, text(topic.name, "topic.name", 256, required=True),
                 text(topic.queue, "topic.queue", 64, required=True), topic.deadline_minutes,
                 topic.active)


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    internal: bool
    author: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    action: str
    from_state: AppealState | None
    to_state: AppealState | None
    actor: str
    at: dt.datetime
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class Appeal:
    """One contact-center case as stored."""

    id: uuid.UUID
    number: int
    member_id: uuid.UUID | None
    channel: AppealChannel
    topic_code: str | None
    queue: str | None
    subject: str
    description: str
    state: AppealState
    assignee_user_id: uuid.UUID | None
    due_at: dt.datetime | None
    overdue_at: dt.datetime | None
    resolution: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    version: int
    caller_phone: str | None = None
    notes: tuple[Note, ...] = ()
    history: tuple[HistoryEntry, ...] = field(default=())

    def for_member(self) -> Appeal:
        """What the member's cabinet shows: no internal notes, no history, no caller data."""
        return Appeal(self.id, self.number, self.member_id, self.channel, self.topic_code,
                      self.queue, self.subject, self.description, self.state, None,
                      self.due_at, None, self.resolution, self.created_at, self.closed_at,
                      self.version, None,
                      tuple(n for n in self.notes if not n.internal), ())

    def audit_view(self) -> dict[str, object]:
        """What the audit trail records (ids and states; the texts stay in the appeal)."""
        return {"number": self.number, "member_id": str(self.member_id or ""),
                "topic_code": self.topic_code, "state": self.state.value,
                "assignee_user_id": str(self.assignee_user_id or ""), "version": self.version}


@dataclass(frozen=True, slots=True)
class Article:
    """A knowledge-base article."""

    id: uuid.UUID
    title: str
    body: str
    tags: tuple[str, ...]
    published: bool
    updated_at: dt.datetime


def search_text(*parts: str) -> str:
    """Case-folded text for the full-text index and the query: PostgreSQL's 'simple'
    configuration lower-cases only ASCII under the C locale, so Cyrillic is folded here,
    the same way for the articles and the words searched for."""
    return " ".join(p.casefold() for p in parts)
