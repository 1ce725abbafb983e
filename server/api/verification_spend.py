"""What the API knows about verification tokens: the calling key as a token party, the
operation enum, and the amount a spend takes (the servicers that spend share these)."""

from __future__ import annotations

from collections.abc import Iterable

from kopilka.v1 import verification_pb2 as pb

from server.api.deps import caller
from server.db.ledger_receipts import PaymentIn
from server.receipts.calculation import Calculation
from server.verification.model import Operation
from server.verification.sending import requester_key
from server.verification.tokens import Caller, Spend

OPERATIONS = {
    pb.VERIFICATION_OPERATION_REDEEM_POINTS: Operation.REDEEM_POINTS,
    pb.VERIFICATION_OPERATION_CONFIRM_RECEIPT: Operation.CONFIRM_RECEIPT,
    pb.VERIFICATION_OPERATION_CONVERT_FUNDS: Operation.CONVERT_FUNDS,
}
OPERATION_TO_PB = {v: k for k, v in OPERATIONS.items()}


def calling_key() -> Caller:
    """The running RPC's key as the party a token is bound to: store, terminal, requester."""
    principal = caller()
    return Caller(principal.store_code or "", principal.terminal_id or "",
                  requester_key(principal.key_id, principal.store_code, principal.terminal_id))


def spend_by_caller(card_number: str, operation: Operation, amount: int) -> Spend:
    return Spend(card_number, operation, amount, calling_key())


def receipt_spend(calc: Calculation, payments: Iterable[PaymentIn]) -> Spend:
    """A receipt's spend, in minor units: the points paid (a point is one minor unit) and the
    cash account payments. Certificates are bearer money, not the member's: not counted."""
    amount = calc.points_redeemed + sum(p.amount_minor for p in payments
                                        if p.method == "cash_account")
    return spend_by_caller(calc.card_number or "", Operation.CONFIRM_RECEIPT, amount)
