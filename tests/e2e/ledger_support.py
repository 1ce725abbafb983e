"""Shared setup of the ledger e2e tests: a store, card types, members, calculations."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from kopilka.v1 import admin_pb2, bonus_pb2, members_pb2, receipts_pb2

from server.api.calculation_token import encode_calculation
from server.db.ledger.jobs import audit
from server.receipts.calculation import CalculatedLine, Calculation
from server.verification.model import Operation
from server.verification.tokens import Caller, Grant, issue_verification_token
from tests.helpers import rid

STORE = "S1"


@dataclass
class Member:
    member_id: str
    card: str


async def setup_world(admin) -> None:  # type: ignore[no-untyped-def]
    await admin.admin.UpsertStore(admin_pb2.UpsertStoreRequest(request_id=rid(),
        store=admin_pb2.Store(code=STORE, name="Store 1", time_zone="Europe/Kyiv")))
    for code, prefix, verify in (("silver", "2900", False), ("vip", "2950", True)):
        await admin.admin.UpsertCardType(admin_pb2.UpsertCardTypeRequest(request_id=rid(),
            card_type=admin_pb2.CardType(code=code, name=code, accrual_bps=500,
                                         number_prefix=prefix, requires_verification=verify)))


async def new_member(admin, n: int, card_type: str = "silver") -> Member:  # type: ignore[no-untyped-def]
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=members_pb2.MemberProfile(first_name="M", phone=f"+38067{n:07d}"),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type=card_type))
    return Member(reply.member.member_id, reply.member.cards[0].number)


async def give_points(admin, member: Member, points: int) -> None:  # type: ignore[no-untyped-def]
    await admin.bonus.AdjustPoints(bonus_pb2.AdjustPointsRequest(
        request_id=str(uuid.uuid4()), card_number=member.card, points=points, reason="test",
        reason_code=bonus_pb2.ADJUSTMENT_REASON_CORRECTION))


def line(line_no: int, final: int, *, quantity: int = 1000, discount: int = 0,
         points_discount: int = 0, accrual: int = 0) -> CalculatedLine:
    base = final + discount + points_discount
    return CalculatedLine(line_no, f"SKU{line_no}", quantity, base * 1000 // quantity, base,
                          discount, points_discount, final, accrual)


def calculation(app, member: Member | None, lines: list[CalculatedLine], *,  # type: ignore[no-untyped-def]
                lots: tuple[tuple[int, str, str | None, str], ...] = (),
                terminal: str = "T1", store: str = STORE) -> str:
    now = dt.datetime.now(dt.UTC)
    calc = Calculation(
        calculation_id=str(uuid.uuid4()), store_code=store, terminal_id=terminal,
        currency="UAH", receipt_time=now, rule_set_version="test", lines=tuple(lines),
        subtotal_minor=sum(x.base_amount_minor for x in lines),
        discount_total_minor=sum(x.discount_minor + x.points_discount_minor for x in lines),
        total_minor=sum(x.final_amount_minor for x in lines),
        points_to_accrue=sum(x.accrual_points for x in lines),
        points_redeemed=sum(x.points_discount_minor for x in lines), created_at=now,
        card_number=member.card if member else None,
        member_id=member.member_id if member else None,
        card_type="silver" if member else None, accrual_lots=lots)
    return encode_calculation(app.deps.signer, calc)


def confirm(calc_id: str, number: str, payments: list[tuple[int, int]] | None = None,
            total: int | None = None, token: str = "") -> receipts_pb2.ConfirmReceiptRequest:
    pays = payments if payments is not None else ([(receipts_pb2.PAYMENT_METHOD_CASH, total)]
                                                   if total else [])
    return receipts_pb2.ConfirmReceiptRequest(
        request_id=str(uuid.uuid4()), calculation_id=calc_id, receipt_number=number,
        payments=[receipts_pb2.Payment(method=m, amount_minor=a) for m, a in pays],
        verification_token=token)


async def assert_books_balance(app) -> None:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        report = await audit(session)
    assert report.problems == []
    assert report.accounts > 0


async def balance(admin, member: Member) -> bonus_pb2.GetBalanceResponse:  # type: ignore[no-untyped-def]
    return await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))


def signed_token(app, card: str, *, operation: Operation = Operation.REDEEM_POINTS,  # type: ignore[no-untyped-def]
                 max_amount: int = 1_000_000, store: str = STORE, terminal: str = "T1",
                 expires: dt.datetime | None = None) -> str:
    """A verification token as VerifySMS would give a till `store`/`terminal` (the server's
    own signer; a fresh token id), for tests that are not about sending codes."""
    grant = Grant(uuid.uuid4(), card, operation, max_amount,
                  Caller(store, terminal, f"terminal:{store}/{terminal}"),
                  expires or dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    return issue_verification_token(app.deps.signer, grant)
