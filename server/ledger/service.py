"""The ledger service: ConfirmReceipt and RedeemBonus, whichever door they come through.

It checks what needs no storage (the verification token's bindings), hands the store one
piece of work per call, and turns the store's refusals into the errors callers act on. The
store (server/db/ledger/store.py) does each call in one transaction: it claims the request id
first, so a retry of a finished call gets its first result even after its token was used or
has expired.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from server.certificates import rules
from server.certificates.model import CertificateInfo, CertificateKind
from server.engagement.coupons import Coupon
from server.engagement.coupons import refusal as coupon_refusal
from server.engagement.coupons import refusal_error as coupon_refusal_error
from server.errors import DomainError, ErrorKind, FieldViolation, not_found
from server.ledger.model import (
    Claim,
    Confirmed,
    Legacy,
    PaymentIn,
    Redeemed,
    Refusal,
    confirmed,
    receipt_document,
    redeemed,
    spend_amount,
)
from server.receipts.calculation import Calculation
from server.security.signing import Signer
from server.verification.model import Operation
from server.verification.tokens import Caller, Spend, authorize, required, used


class LedgerStore(Protocol):
    """One transaction per call; raises Refusal (nothing written) when it cannot."""

    async def confirm_receipt(self, claim: Claim, receipt: dict[str, Any],
                              token_id: uuid.UUID | None, now: dt.datetime) -> dict[str, Any]:
        """Book a receipt with everything it spends and accrues; its result."""

    async def redeem_points(self, claim: Claim, card_number: str, points: int,
                            tx_id: uuid.UUID, reason: str, principal: str,
                            token_id: uuid.UUID | None, now: dt.datetime) -> dict[str, Any]:
        """Spend points of a card's member; its result."""

    async def certificate(self, number: str) -> CertificateInfo | None:
        """A certificate as it is now (to say why a spend of it was refused)."""

    async def coupon(self, code: str) -> Coupon | None:
        """A coupon as it is now (to say why a spend of it was refused)."""


class LedgerService:
    """Receipts and points spends over a LedgerStore."""

    def __init__(self, store: LedgerStore, signer: Callable[[], Signer]) -> None:
        """`signer` gives the token signer (the server loads its secret when it starts)."""
        self._store = store
        self._signer = signer

    async def confirm_receipt(
        self, claim: Claim, calc: Calculation, number: str, payments: list[PaymentIn],
        content_hash: bytes, principal: str, token: str, caller: Caller, now: dt.datetime,
    ) -> Confirmed | Legacy:
        """Book `calc` under `number` exactly once (see the module docstring)."""
        spend = Spend(calc.card_number or "", Operation.CONFIRM_RECEIPT,
                      spend_amount(calc, payments), caller)
        token_id, verdict = self._token(token, spend, now)
        document = receipt_document(calc, uuid.uuid4(), uuid.uuid4(), number, payments,
                                    content_hash, principal)
        try:
            return confirmed(await self._store.confirm_receipt(claim, document, token_id, now))
        except Refusal as refusal:
            if refusal.code == "KL010":
                raise await self._coupon_refusal(refusal.detail, calc, now) from None
            raise await self._explain(refusal, claim, verdict, calc.card_number or "",
                                      calc.currency, payments, now) from None

    async def redeem_points(
        self, claim: Claim, card_number: str, points: int, reason: str, principal: str,
        token: str, caller: Caller, now: dt.datetime,
    ) -> Redeemed | Legacy:
        """Spend `points` of the card's member exactly once."""
        spend = Spend(card_number, Operation.REDEEM_POINTS, points, caller)
        token_id, verdict = self._token(token, spend, now)
        try:
            return redeemed(await self._store.redeem_points(
                claim, card_number, points, uuid.uuid4(), reason, principal, token_id, now))
        except Refusal as refusal:
            raise await self._explain(refusal, claim, verdict, card_number, None, [],
                                      now) from None

    def _token(self, token: str, spend: Spend, now: dt.datetime
               ) -> tuple[uuid.UUID | None, DomainError | None]:
        """The token's id if it covers the spend, else why not. The store uses the id only
        when the card requires verification and only after claiming the request id."""
        if not token:
            return None, None
        try:
            return authorize(self._signer(), token, spend, now).token_id, None
        except DomainError as why:
            return None, why

    async def _explain(self, refusal: Refusal, claim: Claim, verdict: DomainError | None,
                       card_number: str, currency: str | None, payments: list[PaymentIn],
                       now: dt.datetime) -> Exception:
        code, detail = refusal.code, refusal.detail
        if code == "KL001":
            return insufficient("points", detail)
        if code == "KL009":
            return insufficient("funds", detail)
        if code == "KL002":
            return reused()
        if code == "KL003":
            return DomainError(ErrorKind.ALREADY_EXISTS, "RECEIPT_NUMBER_TAKEN",
                               "this receipt number is already used by another receipt; "
                               "give the sale a number of its own",
                               [FieldViolation("receipt_number", "taken by another receipt")])
        if code == "KL004":
            return calculation_confirmed(detail, claim.principal_id)
        if code == "KL006":
            return verdict or required()
        if code == "KL007":
            return used()
        if code == "KL008":
            return card_cannot_spend(detail, card_number)
        if code == "KL005":
            amount = sum(p.amount_minor for p in payments if p.certificate_number == detail)
            return await self._certificate_refusal(detail, amount, currency, now)
        return RuntimeError(f"unknown ledger refusal {code}: {detail}")

    async def _coupon_refusal(self, code: str, calc: Calculation, now: dt.datetime
                              ) -> DomainError:
        """Why a coupon of the calculation could not be spent (used up meanwhile, blocked,
        expired...): nothing was written."""
        coupon = await self._store.coupon(code)
        member = uuid.UUID(calc.member_id) if calc.member_id else None
        return coupon_refusal_error(code, coupon_refusal(coupon, member, now) or "COUPON_USED_UP")

    async def _certificate_refusal(self, number: str, amount: int, currency: str | None,
                                   now: dt.datetime) -> DomainError:
        cert = await self._store.certificate(number)
        if cert is None:
            return not_found("certificate", number, "CERTIFICATE_NOT_FOUND")
        why = rules.spend_refusal(cert, kind=CertificateKind.MONEY, amount_minor=amount,
                                  currency=currency or cert.currency, now=now)
        return why or DomainError(ErrorKind.ABORTED, "CERTIFICATE_CONTENDED",
                                  f"certificate {number} kept changing; retry")


def insufficient(what: str, available: str | int | None = None) -> DomainError:
    """Not enough points or money (metadata `available` when known)."""
    metadata = {} if available in (None, "") else {"available": str(available)}
    reason = "INSUFFICIENT_POINTS" if what == "points" else "INSUFFICIENT_FUNDS"
    return DomainError(ErrorKind.FAILED_PRECONDITION, reason,
                       f"not enough {what} on the account", metadata=metadata)


def reused() -> DomainError:
    """The refusal of a request id that came before with another method or content."""
    return DomainError(ErrorKind.ALREADY_EXISTS, "REQUEST_ID_REUSED",
                       "request_id was already used for a different request",
                       [FieldViolation("request_id", "reused with different content")])


def calculation_confirmed(detail: str, principal_id: uuid.UUID) -> DomainError:
    """A calculation booked already; its receipt is named only to the key that booked it
    (`detail` is "principal receipt-id number" of the first receipt)."""
    first_principal, receipt_id, receipt_number = (detail or "  ").split(" ", 2)
    metadata = ({"receipt_id": receipt_id, "receipt_number": receipt_number}
                if first_principal == str(principal_id) else {})
    return DomainError(ErrorKind.ALREADY_EXISTS, "CALCULATION_ALREADY_CONFIRMED",
                       "this calculation is confirmed already: calculate the receipt again",
                       [FieldViolation("calculation_id", "confirmed already")], metadata)


def card_cannot_spend(detail: str, card_number: str) -> DomainError:
    """Why a card may not spend: unknown, assigned to nobody, or not active."""
    if detail == "missing":
        return not_found("card", card_number, "CARD_NOT_FOUND")
    if detail == "unassigned":
        return DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ASSIGNED",
                           "the card belongs to no member")
    return DomainError(ErrorKind.FAILED_PRECONDITION, "CARD_NOT_ACTIVE",
                       f"the card is {detail}", metadata={"state": detail})

