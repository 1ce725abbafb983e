"""Asking stores to confirm lines: requests in rounds, answers, and routing after a deadline.

A request asks one store about some open lines until a deadline. The store answers every line
asked, once: confirmed (the line is confirmed at that store), partly (the line is split: the
confirmed quantity stays confirmed at the store, the rest becomes a new open line), refused
(the line stays open). Without an answer by the deadline the job expires the request and asks
the next store holding each still-open line, one no earlier round has asked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from server.errors import DomainError, ErrorKind, FieldViolation, Violations, invalid
from server.orders import actions
from server.orders.allocation import Need, Stock, holders
from server.orders.model import LineState, Order
from server.orders.states import Action, require


class RequestState(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CLOSED = "closed"


class Answer(StrEnum):
    CONFIRMED = "confirmed"
    PARTLY = "partly"
    REFUSED = "refused"


@dataclass(slots=True)
class RequestedLine:
    line_no: int
    quantity_milli: int
    answer: Answer | None = None
    confirmed_milli: int = 0
    reason: str = ""


@dataclass(slots=True)
class StoreRequest:
    id: uuid.UUID
    order_id: uuid.UUID
    store_code: str
    round: int
    deadline_at: dt.datetime
    state: RequestState = RequestState.PENDING
    lines: list[RequestedLine] = field(default_factory=list)
    answered_at: dt.datetime | None = None
    answered_by: str = ""
    created_at: dt.datetime | None = None

    @property
    def duration(self) -> dt.timedelta:
        """How long the store had: the next round gets as long."""
        if self.created_at is None:
            return dt.timedelta(hours=1)
        return max(self.deadline_at - self.created_at, dt.timedelta(seconds=1))


@dataclass(frozen=True, slots=True)
class LineAnswer:
    line_no: int
    answer: Answer
    confirmed_milli: int
    reason: str


MAX_DEADLINE_SECONDS = 7 * 24 * 3600


def ask(order: Order, asks: Sequence[tuple[str, Sequence[int]]], round_no: int,
        deadline: dt.datetime, known_stores: set[str]) -> tuple[list[StoreRequest],
                                                                actions.Effect]:
    """New requests for open lines (each line at most once per round)."""
    require(order, Action.ASK_STORES)
    errors = Violations()
    if not asks:
        errors.add("asks", "no open line to ask about")
    seen: set[int] = set()
    made = []
    for i, (store, line_nos) in enumerate(asks):
        if store not in known_stores:
            errors.add(f"asks[{i}].store_code", f"unknown store {store!r}")
        if not line_nos:
            errors.add(f"asks[{i}].line_nos", "at least one line")
        lines = []
        for j, n in enumerate(line_nos):
            line = order.line(n)
            if line is None or line.state is not LineState.OPEN:
                errors.add(f"asks[{i}].line_nos[{j}]", f"line {n} is not an open line")
            elif n in seen:
                errors.add(f"asks[{i}].line_nos[{j}]", f"line {n} asked twice")
            else:
                lines.append(RequestedLine(n, line.quantity_milli))
            seen.add(n)
        made.append(StoreRequest(uuid.uuid4(), order.id, store, round_no, deadline,
                                 lines=lines))
    errors.raise_if_any()
    return made, actions.Effect(Action.ASK_STORES, 0, {
        "round": round_no, "deadline": deadline.isoformat(),
        "asks": [{"store_code": r.store_code, "line_nos": [x.line_no for x in r.lines],
                  "store_request_id": str(r.id)} for r in made]})


def check_answer(request: StoreRequest, answers: Sequence[LineAnswer], now: dt.datetime) -> None:
    """Refuse an answer too late, a second answer, lines not asked or left out."""
    if request.state is not RequestState.PENDING:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "STORE_REQUEST_ANSWERED",
                          f"request {request.id} is {request.state}",
                          metadata={"state": request.state.value})
    if now >= request.deadline_at:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "STORE_REQUEST_EXPIRED",
                          f"request {request.id} expired at {request.deadline_at.isoformat()}",
                          metadata={"deadline": request.deadline_at.isoformat()})
    asked = {x.line_no: x for x in request.lines}
    answered: set[int] = set()
    errors = Violations()
    for i, a in enumerate(answers):
        path = f"answers[{i}]"
        if a.line_no not in asked:
            raise DomainError(
                ErrorKind.INVALID_ARGUMENT, "LINE_NOT_REQUESTED",
                f"{path}.line_no: line {a.line_no} was not asked in this request",
                [FieldViolation(f"{path}.line_no", f"line {a.line_no} was not asked")])
        if a.line_no in answered:
            errors.add(f"{path}.line_no", f"line {a.line_no} answered twice")
        answered.add(a.line_no)
        whole = asked[a.line_no].quantity_milli
        if a.answer is Answer.PARTLY and not 0 < a.confirmed_milli < whole:
            errors.add(f"{path}.confirmed_quantity_milli",
                       f"more than 0 and less than {whole}")
        if a.answer is not Answer.CONFIRMED and not a.reason.strip():
            errors.add(f"{path}.reason", "required when not confirming the whole line")
    errors.raise_if_any()
    missing = sorted(set(asked) - answered)
    if missing:
        text = f"lines {missing} were asked and need an answer"
        raise DomainError(ErrorKind.INVALID_ARGUMENT, "LINE_NOT_REQUESTED", f"answers: {text}",
                          [FieldViolation("answers", text)])


def apply_answer(order: Order, request: StoreRequest, answers: Sequence[LineAnswer],
                 now: dt.datetime, principal: str) -> actions.Effect:
    """The answers on the request and the order (lines no longer open are left as they are)."""
    require(order, Action.STORE_ANSWER)
    by_line = {x.line_no: x for x in request.lines}
    for a in answers:
        asked = by_line[a.line_no]
        asked.answer, asked.reason = a.answer, a.reason.strip()
        asked.confirmed_milli = {Answer.CONFIRMED: asked.quantity_milli, Answer.PARTLY:
                                 a.confirmed_milli, Answer.REFUSED: 0}[a.answer]
        line = order.line(a.line_no)
        if line is None or line.state is not LineState.OPEN:
            continue  # changed or cancelled since it was asked: the answer is kept only
        if a.answer is Answer.PARTLY and asked.confirmed_milli < line.quantity_milli:
            actions.split_line(order, a.line_no, line.quantity_milli - asked.confirmed_milli)
        if a.answer is not Answer.REFUSED:
            actions.confirm_line(order, a.line_no, request.store_code)
    request.state = RequestState.ANSWERED
    request.answered_at, request.answered_by = now, principal
    return actions.Effect(Action.STORE_ANSWER, 0, {
        "store_request_id": str(request.id), "store_code": request.store_code,
        "answers": [{"line_no": a.line_no, "answer": a.answer.value,
                     "confirmed_milli": by_line[a.line_no].confirmed_milli,
                     "reason": a.reason.strip()} for a in answers]}, reprice=True)


def route(order: Order, expired: StoreRequest, asked_before: dict[int, set[str]], stock: Stock,
          priority: Sequence[str], round_no: int, deadline: dt.datetime
          ) -> tuple[list[StoreRequest], actions.Effect]:
    """Expire `expired` and ask, for each of its lines still open, the first store (priority,
    then code) holding it that no round asked yet; lines with no such store stay open."""
    require(order, Action.ROUTE)
    expired.state = RequestState.EXPIRED
    rank = {s: i for i, s in enumerate(priority)}
    by_store: dict[str, list[int]] = {}
    stranded = []
    for asked in expired.lines:
        line = order.line(asked.line_no)
        if line is None or line.state is not LineState.OPEN:
            continue
        tried = asked_before.get(asked.line_no, set())
        stores = [s for s in holders(Need(line.line_no, line.sku, line.quantity_milli), stock)
                  if s not in tried]
        if not stores:
            stranded.append(line.line_no)
            continue
        best = min(stores, key=lambda s: (rank.get(s, len(rank)), s))
        by_store.setdefault(best, []).append(line.line_no)
    made = [StoreRequest(uuid.uuid4(), order.id, store, round_no, deadline,
                         lines=[RequestedLine(n, order_line_quantity(order, n)) for n in nos])
            for store, nos in sorted(by_store.items())]
    return made, actions.Effect(Action.ROUTE, 0, {
        "expired_request_id": str(expired.id), "expired_store_code": expired.store_code,
        "round": round_no, "stranded_line_nos": stranded,
        "asks": [{"store_code": r.store_code, "line_nos": [x.line_no for x in r.lines],
                  "store_request_id": str(r.id)} for r in made]})


def order_line_quantity(order: Order, line_no: int) -> int:
    line = order.line(line_no)
    assert line is not None
    return line.quantity_milli


def deadline_after(now: dt.datetime, seconds: int) -> dt.datetime:
    if not 0 < seconds <= MAX_DEADLINE_SECONDS:
        raise invalid("deadline_seconds", f"1 to {MAX_DEADLINE_SECONDS} seconds")
    return now + dt.timedelta(seconds=seconds)
