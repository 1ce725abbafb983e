"""The contact center's application service: every door (RPC, telephony hook, jobs) calls
these functions, which check the state machine, write the history and the audit, and emit
the events, all in the caller's transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, Protocol

from server.appeals import model
from server.appeals.model import (
    Appeal,
    AppealChannel,
    AppealState,
    Article,
    Note,
    Topic,
)
from server.errors import DomainError, ErrorKind, invalid, not_found
from server.events.schema import NewEvent, new_event

S = AppealState


class AppealStore(Protocol):
    """What the service needs from storage (server/db/appeals/repo.py)."""

    async def emit(self, event: NewEvent) -> None: ...
    async def audit(self, object_type: str, object_id: str, action: str, before: object,
                    after: object) -> None: ...
    async def upsert_topic(self, topic: Topic) -> None: ...
    async def topic(self, code: str) -> Topic | None: ...
    async def user_exists(self, user_id: uuid.UUID) -> bool: ...
    async def by_call(self, call_id: str) -> Appeal | None: ...
    async def add(self, appeal: Appeal, created_by: str, call_id: str | None) -> Appeal: ...
    async def get(self, appeal_id: uuid.UUID, *, for_update: bool = False,
                  full: bool = True) -> Appeal | None: ...
    async def save(self, a: Appeal) -> Appeal: ...
    async def add_history(self, appeal_id: uuid.UUID, action: str, before: AppealState | None,
                          after: AppealState | None, actor: str, at: dt.datetime,
                          detail: dict[str, Any]) -> None: ...
    async def add_note(self, appeal_id: uuid.UUID, note: Note) -> None: ...
    async def mark_overdue(self, now: dt.datetime, actor: str, batch: int) -> int: ...
    async def upsert_article(self, article: Article, by: str) -> Article: ...


def appeal_not_found(appeal_id: uuid.UUID) -> DomainError:
    return not_found("appeal", str(appeal_id), "APPEAL_NOT_FOUND")


async def _topic(store: AppealStore, code: str, field_path: str) -> Topic:
    topic = await store.topic(code)
    if topic is None or not topic.active:
        raise DomainError(ErrorKind.INVALID_ARGUMENT, "APPEAL_TOPIC_NOT_FOUND",
                          f"{field_path}: no active appeal topic {code!r}",
                          metadata={"topic_code": code})
    return topic


async def save_topic(store: AppealStore, topic: Topic) -> Topic:
    topic = model.check_topic(topic)
    before = await store.topic(topic.code)
    await store.upsert_topic(topic)
    await store.audit("appeal_topic", topic.code, "upsert", before, topic)
    return topic


async def create(store: AppealStore, *, actor: str, now: dt.datetime,
                 member_id: uuid.UUID | None, channel: AppealChannel, topic_code: str,
                 subject: str, description: str, caller_phone: str | None = None,
                 call_id: str | None = None) -> tuple[Appeal, bool]:
    """Register an appeal (a call's retry with the same call id answers the first one);
    (appeal, created now)."""
    if call_id is not None:
        known = await store.by_call(call_id)
        if known is not None:
            return known, False
    subject = model.text(subject, "subject", model.SUBJECT_CHARS, required=True)
    description = model.text(description, "description", model.TEXT_CHARS, required=False)
    topic = await _topic(store, topic_code, "topic_code") if topic_code else None
    draft = Appeal(uuid.uuid4(), 0, member_id, channel, topic.code if topic else None,
                   topic.queue if topic else None, subject, description, S.NEW, None,
                   topic.due(now) if topic else None, None, "", now, None, 1, caller_phone)
    appeal = await store.add(draft, actor, call_id)
    if appeal.id != draft.id:  # a concurrent hook registered this call first
        return appeal, False
    await store.add_history(appeal.id, "created", None, S.NEW, actor, now,
                            {"channel": channel.value, "topic_code": appeal.topic_code})
    await store.audit("appeal", str(appeal.id), "create", None, appeal.audit_view())
    await store.emit(new_event(
        "appeal.created", appeal_id=appeal.id, number=appeal.number, member_id=member_id,
        channel=channel.value, topic_code=appeal.topic_code, due_at=appeal.due_at))
    return appeal, True


async def _locked(store: AppealStore, appeal_id: uuid.UUID) -> Appeal:
    found = await store.get(appeal_id, for_update=True, full=False)
    if found is None:
        raise appeal_not_found(appeal_id)
    return found


async def _changed(store: AppealStore, before: Appeal, after: Appeal, action: str,
                   actor: str, now: dt.datetime, detail: dict[str, Any]) -> Appeal:
    saved = await store.save(after)
    moved = before.state is not saved.state
    await store.add_history(saved.id, action, before.state if moved else None,
                            saved.state if moved else None, actor, now, detail)
    await store.audit("appeal", str(saved.id), action, before.audit_view(), saved.audit_view())
    return saved


async def route(store: AppealStore, appeal_id: uuid.UUID, topic_code: str, *, actor: str,
                now: dt.datetime) -> Appeal:
    """Set the topic: its queue, and the deadline counted from the registration."""
    a = await _locked(store, appeal_id)
    if a.state not in model.OPEN:
        raise model.state_conflict(a.state, "be routed")
    topic = await _topic(store, topic_code, "topic_code")
    after = dataclasses.replace(a, topic_code=topic.code, queue=topic.queue,
                                due_at=topic.due(a.created_at), overdue_at=None)
    return await _changed(store, a, after, "routed", actor, now,
                          {"topic_code": topic.code, "queue": topic.queue})


async def assign(store: AppealStore, appeal_id: uuid.UUID, user_id: uuid.UUID, *, actor: str,
                 now: dt.datetime) -> Appeal:
    a = await _locked(store, appeal_id)
    model.check_assignable(a.state)
    if not await store.user_exists(user_id):
        raise not_found("user", str(user_id), "USER_NOT_FOUND")
    after = dataclasses.replace(a, assignee_user_id=user_id, state=S.ASSIGNED)
    return await _changed(store, a, after, "assigned", actor, now,
                          {"assignee_user_id": str(user_id)})


async def change_state(store: AppealStore, appeal_id: uuid.UUID, target: AppealState, *,
                       resolution: str, expected_version: int, actor: str,
                       now: dt.datetime) -> Appeal:
    a = await _locked(store, appeal_id)
    if expected_version and expected_version != a.version:
        raise DomainError(ErrorKind.ABORTED, "APPEAL_VERSION_CONFLICT",
                          f"the appeal is at version {a.version}, not {expected_version}",
                          metadata={"expected": str(expected_version),
                                    "actual": str(a.version)})
    resolution = model.text(resolution, "resolution", model.TEXT_CHARS, required=False)
    model.check_transition(a.state, target, resolution, bool(a.resolution))
    after = dataclasses.replace(
        a, state=target, resolution=resolution or a.resolution,
        closed_at=now if target is S.CLOSED else None)
    if target is S.IN_PROGRESS and a.state is S.RESOLVED:
        after = dataclasses.replace(after, resolution="")  # reopened: solve it again
    saved = await _changed(store, a, after, "state", actor, now,
                           {"resolution": resolution} if resolution else {})
    if target is S.CLOSED:
        await store.emit(new_event(
            "appeal.closed", appeal_id=saved.id, number=saved.number,
            member_id=saved.member_id, topic_code=saved.topic_code, closed_at=now,
            overdue_at=saved.overdue_at, resolved_by=actor))
    return saved


async def add_note(store: AppealStore, appeal_id: uuid.UUID, text: str, internal: bool, *,
                   actor: str, now: dt.datetime) -> None:
    a = await _locked(store, appeal_id)
    if a.state is S.CLOSED:
        raise model.state_conflict(a.state, "take notes")
    note = Note(model.text(text, "text", model.TEXT_CHARS, required=True), internal, actor, now)
    await store.add_note(a.id, note)
    await store.add_history(a.id, "note", None, None, actor, now, {"internal": internal})


async def goodwill_target(store: AppealStore, appeal_id: uuid.UUID) -> Appeal:
    """The appeal goodwill points are asked for: it must name a member and be open or
    resolved (a closed appeal's case is over)."""
    a = await _locked(store, appeal_id)
    if a.member_id is None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "APPEAL_WITHOUT_MEMBER",
                          "the appeal names no member to credit")
    if a.state is S.CLOSED:
        raise model.state_conflict(a.state, "grant goodwill points")
    return a


async def goodwill_recorded(store: AppealStore, a: Appeal, adjustment: dict[str, Any], *,
                            actor: str, now: dt.datetime) -> None:
    """History of the appeal: which manual adjustment its goodwill is (applied or pending)."""
    await store.add_history(a.id, "goodwill", None, None, actor, now, adjustment)


async def mark_overdue(store: AppealStore, now: dt.datetime, actor: str,
                       batch: int = 1000) -> int:
    return await store.mark_overdue(now, actor, batch)


def check_article(article: Article) -> Article:
    title = model.text(article.title, "article.title", 256, required=True)
    body = model.text(article.body, "article.body", 100_000, required=True)
    tags = tuple(model.text(t, f"article.tags[{i}]", 64, required=True)
                 for i, t in enumerate(article.tags))
    return dataclasses.replace(article, title=title, body=body, tags=tags)


async def save_article(store: AppealStore, article: Article, *, actor: str) -> Article:
    saved = await store.upsert_article(check_article(article), actor)
    await store.audit("kb_article", str(saved.id), "upsert", None,
                      {"title": saved.title, "published": saved.published})
    return saved


def search_limit(value: int) -> int:
    if value < 0 or value > 100:
        raise invalid("limit", "between 0 and 100 (0: 10)")
    return value or 10

