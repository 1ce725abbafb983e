"""BonusService: spend, look up, adjust and convert points and cash accounts."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import bonus_pb2, bonus_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.conversion import cash_to_points, points_to_cash
from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import claim_of, parse_uuid, run_once
from server.api.servicers.adjustments import ManualMoney
from server.api.verification_spend import calling_key, spend_by_caller
from server.db.audit.repo import Change, record_on
from server.db.ledger.bonus import balance_of, manual_lot, member_of_card, members_of_cards
from server.db.ledger.cash import cash_balance, credit_cash, pay_from_cash, pool_accounts
from server.db.ledger.repo import (
    accrue,
    card_holder,
    lock_points_accounts,
    new_tx,
    points_balance,
    raw_connection,
    spend_points,
)
from server.db.ledger.rules import active_accrual_rules
from server.db.verification.uses import consume_verification
from server.errors import Violations, invalid
from server.ledger.model import Legacy
from server.limits import MAX_CARD_LIST
from server.verification.model import Operation

SERVICE = "/kopilka.v1.BonusService/"
B = bonus_pb2
MAX_LIST = MAX_CARD_LIST


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _reason(value: str) -> str:
    reason = value.strip()
    if not reason or len(reason) > 500:
        raise invalid("reason", "required, at most 500 characters")
    return reason


def _account_id(value: str) -> int:
    """A ledger account id as the server printed it: ASCII digits, a positive BIGINT
    (str.isdigit also takes '²' and '٣', which int() then refuses or misreads)."""
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**63:
        raise invalid("master_account_id", "not an account id")
    return int(value)


class BonusServicer(ManualMoney, bonus_pb2_grpc.BonusServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def RedeemBonus(
            self, request: bonus_pb2.RedeemBonusRequest, context: Context
    ) -> bonus_pb2.RedeemBonusResponse:
        errors = Violations()
        if not request.card_number:
            errors.add("card_number", "required")
        if request.points <= 0:
            errors.add("points", "must be positive")
        if len(request.order_reference) > 128:
            errors.add("order_reference", "at most 128 characters")
        errors.raise_if_any()
        who = caller()
        done = await self.deps.ledger.redeem_points(
            claim_of(SERVICE + "RedeemBonus", request, who.key_id), request.card_number,
            request.points, request.order_reference, who.label, request.verification_token,
            calling_key(), _now())
        if isinstance(done, Legacy):
            return B.RedeemBonusResponse.FromString(done.answer)
        return B.RedeemBonusResponse(transaction_id=done.transaction_id,
                                     points_balance=done.points_balance)

    async def GetBalance(
            self, request: bonus_pb2.GetBalanceRequest, context: Context
    ) -> bonus_pb2.GetBalanceResponse:
        async with self.deps.db.transaction() as session:
            conn = await raw_connection(session)
            balance = await balance_of(conn, await member_of_card(conn, request.card_number,
                                                                  "card_number"), _now())
        return B.GetBalanceResponse(
            points_available=balance.available, points_pending=balance.pending,
            cash_balance_minor=balance.cash,
            master_account_id=str(balance.master_id) if balance.master_id else "",
            lots=[B.PointsLot(points=p, activation_time=timestamp(a), expiry_time=timestamp(e))
                  for p, a, e in balance.lots])

    async def AccruePointsForList(
            self, request: bonus_pb2.AccruePointsForListRequest, context: Context
    ) -> bonus_pb2.AccruePointsForListResponse:
        errors = Violations()
        if not 1 <= len(request.card_numbers) <= MAX_LIST:
            errors.add("card_numbers", f"give 1 to {MAX_LIST} card numbers")
        if request.points <= 0:
            errors.add("points", "must be positive")
        activation = time_field(request, "activation_time", errors)
        expiry = time_field(request, "expiry_time", errors)
        if expiry is not None and expiry <= (activation or _now()):
            errors.add("expiry_time", "must be after the activation time")
        errors.raise_if_any()
        reason = _reason(request.reason)
        principal = caller().label

        async def work(session: AsyncSession) -> bonus_pb2.AccruePointsForListResponse:
            conn = await raw_connection(session)
            members = await members_of_cards(conn, list(request.card_numbers), "card_numbers")
            tx_id = await new_tx(conn, "list_accrual", reason=reason, principal=principal)
            now = _now()
            for member_id in sorted(members):
                await accrue(conn, member_id, tx_id,
                             [manual_lot(request.points, now, activation, expiry, "list")], now)
            await record_on(conn, Change("points_list_accrual", str(tx_id), "accrue", None, {
                "points": request.points, "reason": reason, "members": len(members),
                "card_numbers": list(request.card_numbers), "activation_time": activation,
                "expiry_time": expiry}))
            return B.AccruePointsForListResponse(transaction_id=str(tx_id),
                                                 members_accrued=len(members))

        return await run_once(self.deps.db, SERVICE + "AccruePointsForList", request,
                              B.AccruePointsForListResponse, work)

    async def ConvertFunds(
            self, request: bonus_pb2.ConvertFundsRequest, context: Context
    ) -> bonus_pb2.ConvertFundsResponse:
        errors = Violations()
        if request.direction not in (B.CONVERSION_DIRECTION_CASH_TO_POINTS,
                                     B.CONVERSION_DIRECTION_POINTS_TO_CASH):
            errors.add("direction", "required")
        if request.amount <= 0:
            errors.add("amount", "must be positive")
        if not request.card_number:
            errors.add("card_number", "required")
        errors.raise_if_any()
        principal = caller().label
        request_id = parse_uuid(request.request_id, "request_id")
        spend = spend_by_caller(request.card_number, Operation.CONVERT_FUNDS, request.amount)

        async def work(session: AsyncSession) -> bonus_pb2.ConvertFundsResponse:
            now = _now()
            conn = await raw_connection(session)
            member_id, needs_token = await card_holder(conn, request.card_number)
            if needs_token:
                await consume_verification(conn, self.deps.signer, request.verification_token,
                                           spend, request_id, now)
            rate = (await active_accrual_rules(session)).conversion
            to_points = request.direction == B.CONVERSION_DIRECTION_CASH_TO_POINTS
            convert = cash_to_points if to_points else points_to_cash
            result = convert(request.amount, rate.cash_minor, rate.points)
            if result.credited <= 0:
                raise invalid("amount", "too small to buy one unit at the conversion rate")
            tx_id = await new_tx(conn, "convert", principal=principal,
                                 reason="cash to points" if to_points else "points to cash")
            await lock_points_accounts(conn, member_id)
            if to_points:
                await pay_from_cash(conn, member_id, result.debited, tx_id)
                points = await accrue(conn, member_id, tx_id,
                                      [manual_lot(result.credited, now, rule_id="conversion")],
                                      now)
                cash = (await cash_balance(conn, member_id))[0]
            else:
                points = await spend_points(conn, member_id, result.debited, tx_id, now)
                cash = await credit_cash(conn, member_id, result.credited, tx_id)
            await record_on(conn, Change("conversion", str(tx_id), "convert", None, {
                "card_number": request.card_number, "to_points": to_points,
                "debited": result.debited, "credited": result.credited}))
            return B.ConvertFundsResponse(
                transaction_id=str(tx_id), debited=result.debited, credited=result.credited,
                points_balance=points, cash_balance_minor=cash)

        return await run_once(self.deps.db, SERVICE + "ConvertFunds", request,
                              B.ConvertFundsResponse, work)

    async def PoolCashAccounts(
            self, request: bonus_pb2.PoolCashAccountsRequest, context: Context
    ) -> bonus_pb2.PoolCashAccountsResponse:
        if not request.card_numbers:
            raise invalid("card_numbers", "give at least one card")
        master_id = None
        if request.master_account_id:
            master_id = _account_id(request.master_account_id)
        principal = caller().label

        async def work(session: AsyncSession) -> bonus_pb2.PoolCashAccountsResponse:
            conn = await raw_connection(session)
            members = await members_of_cards(conn, list(request.card_numbers), "card_numbers")
            tx_id = await new_tx(conn, "pool", reason="pool cash accounts", principal=principal)
            master, balance = await pool_accounts(conn, master_id, members, tx_id)
            await record_on(conn, Change("cash_pool", str(master), "pool", None, {
                "card_numbers": list(request.card_numbers), "tx_id": tx_id,
                "cash_balance_minor": balance}))
            return B.PoolCashAccountsResponse(master_account_id=str(master),
                                              cash_balance_minor=balance)

        return await run_once(self.deps.db, SERVICE + "PoolCashAccounts", request,
                              B.PoolCashAccountsResponse, work)


__all__ = ["BonusServicer", "points_balance"]
