"""BonusService's manual money: AdjustPoints, TopUpCashAccount and their four-eyes approval.

Every request is stored (manual_adjustments) with its reason code and audited; below the
approval threshold it is applied in the same transaction, above it waits for
ApproveAdjustment by another key (server/ledger/manual.py has the rules).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import TypeVar

from google.protobuf.message import Message
from kopilka.v1 import bonus_pb2 as B
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_token, encode_token, page_size
from server.db.audit.repo import Change, record_on
from server.db.ledger import manual as store
from server.db.ledger.bonus import member_of_card
from server.db.ledger.repo import raw_connection
from server.errors import invalid, not_found
from server.ledger import manual
from server.ledger.manual import Adjustment, AdjustmentState, ManualKind, ReasonCode

SERVICE = "/kopilka.v1.BonusService/"
R = TypeVar("R", bound=Message)

REASON_CODES = {
    B.ADJUSTMENT_REASON_GOODWILL: ReasonCode.GOODWILL,
    B.ADJUSTMENT_REASON_CORRECTION: ReasonCode.CORRECTION,
    B.ADJUSTMENT_REASON_PROMOTION: ReasonCode.PROMOTION,
    B.ADJUSTMENT_REASON_MIGRATION: ReasonCode.MIGRATION,
    B.ADJUSTMENT_REASON_DEPOSIT: ReasonCode.DEPOSIT,
}
REASON_PB = {v: k for k, v in REASON_CODES.items()}
STATE_PB = {AdjustmentState.APPLIED: B.ADJUSTMENT_STATE_APPLIED,
            AdjustmentState.PENDING: B.ADJUSTMENT_STATE_PENDING_APPROVAL,
            AdjustmentState.REJECTED: B.ADJUSTMENT_STATE_REJECTED}
KIND_PB = {ManualKind.POINTS: B.ADJUSTMENT_KIND_POINTS, ManualKind.CASH: B.ADJUSTMENT_KIND_CASH}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _note(value: str) -> str:
    note = value.strip()
    if not note or len(note) > 500:
        raise invalid("reason", "required, at most 500 characters")
    return note


def _code(value: B.AdjustmentReason.ValueType) -> ReasonCode:
    code = REASON_CODES.get(value)
    if code is None:
        raise invalid("reason_code", "required: one of the AdjustmentReason values")
    return code


def adjustment_pb(a: Adjustment) -> B.Adjustment:
    return B.Adjustment(
        adjustment_id=str(a.id), kind=KIND_PB[a.kind], card_number=a.card_number,
        amount=a.amount, reason_code=REASON_PB[a.reason_code], reason=a.note,
        state=STATE_PB[a.state], requested_by=a.requested_by,
        request_time=timestamp(a.created_at), decided_by=a.decided_by or "",
        transaction_id=str(a.tx_id) if a.tx_id else "")


async def request_adjustment(deps: ApiDeps, session: AsyncSession, kind: ManualKind,
                             card_number: str, amount: int, code: ReasonCode, note: str
                             ) -> tuple[Adjustment, int]:
    """Store (and below the threshold apply) one manual change: (it, balance). The one path
    of manual money: AdjustPoints, TopUpCashAccount and an appeal's goodwill points
    (AppealService.GrantAppealGoodwill) all come here, under the caller's caps and the
    approval threshold."""
    who, now, settings = caller(), _now(), deps.settings
    conn = await raw_connection(session)
    member_id = await member_of_card(conn, card_number, "card_number")
    used = await store.lock_and_sum_today(conn, who.key_id, kind, manual.day_start(now))
    manual.check_cap(kind, amount, used,
                     manual.daily_cap(who.roles, kind, settings.manual_daily_caps))
    threshold = (settings.manual_points_approval_threshold if kind is ManualKind.POINTS
                 else settings.manual_cash_approval_threshold_minor)
    a = Adjustment(uuid.uuid4(), kind, card_number, member_id, amount, code, note,
                   AdjustmentState.PENDING, who.label, who.key_id, now)
    if manual.needs_approval(amount, threshold):
        balance = await store.current_balance(conn, kind, member_id, now)
        action = "request"
    else:
        tx_id, balance = await store.apply(conn, a, who.label, now)
        a = dataclasses.replace(a, state=AdjustmentState.APPLIED, tx_id=tx_id)
        action = "apply"
    await store.add(conn, a)
    await record_on(conn, Change("manual_adjustment", str(a.id), action, None,
                                 a.audit_view()))
    return a, balance


class ManualMoney:
    """The manual-money RPCs of BonusServicer (a mixin: it shares the servicer's deps)."""

    deps: ApiDeps

    async def _request(self, session: AsyncSession, kind: ManualKind, card_number: str,
                       amount: int, code: ReasonCode, note: str) -> tuple[Adjustment, int]:
        return await request_adjustment(self.deps, session, kind, card_number, amount, code,
                                        note)

    async def AdjustPoints(
            self, request: B.AdjustPointsRequest, context: Context
    ) -> B.AdjustPointsResponse:
        if request.points == 0:
            raise invalid("points", "must not be zero")
        note, code = _note(request.reason), _code(request.reason_code)

        async def work(session: AsyncSession) -> B.AdjustPointsResponse:
            a, balance = await self._request(session, ManualKind.POINTS, request.card_number,
                                             request.points, code, note)
            return B.AdjustPointsResponse(
                transaction_id=str(a.tx_id) if a.tx_id else "", points_balance=balance,
                adjustment_id=str(a.id), state=STATE_PB[a.state])

        return await run_once(self.deps.db, SERVICE + "AdjustPoints", request,
                              B.AdjustPointsResponse, work)

    async def TopUpCashAccount(
            self, request: B.TopUpCashAccountRequest, context: Context
    ) -> B.TopUpCashAccountResponse:
        if request.amount_minor <= 0:
            raise invalid("amount_minor", "must be positive")
        note, code = _note(request.reason), _code(request.reason_code)

        async def work(session: AsyncSession) -> B.TopUpCashAccountResponse:
            a, balance = await self._request(session, ManualKind.CASH, request.card_number,
                                             request.amount_minor, code, note)
            return B.TopUpCashAccountResponse(
                transaction_id=str(a.tx_id) if a.tx_id else "", cash_balance_minor=balance,
                adjustment_id=str(a.id), state=STATE_PB[a.state])

        return await run_once(self.deps.db, SERVICE + "TopUpCashAccount", request,
                              B.TopUpCashAccountResponse, work)

    async def _pending(self, session: AsyncSession, adjustment_id: uuid.UUID) -> Adjustment:
        """The adjustment, locked, if still pending and asked for by another key."""
        a = await store.get(await raw_connection(session), adjustment_id, for_update=True)
        if a is None:
            raise not_found("adjustment", str(adjustment_id), "ADJUSTMENT_NOT_FOUND")
        if a.state is not AdjustmentState.PENDING:
            raise manual.not_pending(a.state.value)
        if a.requested_key == caller().key_id:
            raise manual.by_requester()
        return a

    async def ApproveAdjustment(
            self, request: B.ApproveAdjustmentRequest, context: Context
    ) -> B.ApproveAdjustmentResponse:
        adjustment_id = parse_uuid(request.adjustment_id, "adjustment_id")

        async def work(session: AsyncSession) -> B.ApproveAdjustmentResponse:
            a = await self._pending(session, adjustment_id)
            conn, who, now = await raw_connection(session), caller(), _now()
            tx_id, balance = await store.apply(conn, a, a.requested_by, now)
            done = await store.decide(conn, a.id, AdjustmentState.APPLIED, who.label,
                                      who.key_id, "", tx_id, now)
            await record_on(conn, Change("manual_adjustment", str(a.id), "approve",
                                         a.audit_view(), done.audit_view()))
            return B.ApproveAdjustmentResponse(adjustment=adjustment_pb(done), balance=balance)

        return await run_once(self.deps.db, SERVICE + "ApproveAdjustment", request,
                              B.ApproveAdjustmentResponse, work)

    async def RejectAdjustment(
            self, request: B.RejectAdjustmentRequest, context: Context
    ) -> B.RejectAdjustmentResponse:
        adjustment_id = parse_uuid(request.adjustment_id, "adjustment_id")
        if len(request.reason) > 500:
            raise invalid("reason", "at most 500 characters")

        async def work(session: AsyncSession) -> B.RejectAdjustmentResponse:
            a = await self._pending(session, adjustment_id)
            conn, who = await raw_connection(session), caller()
            done = await store.decide(conn, a.id, AdjustmentState.REJECTED, who.label,
                                      who.key_id, request.reason.strip(), None, _now())
            after = {**done.audit_view(), "decision_note": request.reason.strip()}
            await record_on(conn, Change("manual_adjustment", str(a.id), "reject",
                                         a.audit_view(), after))
            return B.RejectAdjustmentResponse(adjustment=adjustment_pb(done))

        return await run_once(self.deps.db, SERVICE + "RejectAdjustment", request,
                              B.RejectAdjustmentResponse, work)

    async def ListPendingAdjustments(
            self, request: B.ListPendingAdjustmentsRequest, context: Context
    ) -> B.ListPendingAdjustmentsResponse:
        limit = page_size(request.page.page_size)
        after = decode_token(request.page.page_token)
        async with self.deps.db.transaction() as session:
            rows = await store.pending(await raw_connection(session), after, limit + 1)
        response = B.ListPendingAdjustmentsResponse(
            adjustments=[adjustment_pb(a) for a in rows[:limit]])
        if len(rows) > limit:
            last = rows[limit - 1]
            response.page.next_page_token = encode_token(last.created_at, last.id)
        return response
