"""What the API knows about verification tokens: the calling key as a token party, the
operation enum, and the amount a spend takes (the servicers that spend share these)."""

from __future__ import annotations

from kopilka.v1 import verification_pb2 as pb

from server.api.deps import caller
from server.verification.model import Operation
from server.verification.sending import requester_key
from server.verification.tokens import Caller, Spend

OPERATIONS = {
    pb.VERIFICATION_OPERATION_REDEEM_POINTS: Operation.REDEEM_POINTS,
    pb.VERIFICATION_OPERATION_CONFIRM_RECEIPT: Operation.CONFIRM_RECEIPT,
    pb.VERIFICATION_OPERATION_CONVERT_FUNDS: Operation.CONVERT_FUNDS,
    pb.VERIFICATION_OPERATION_PLACE_ORDER: Operation.PLACE_ORDER,
    pb.VERIFICATION_OPERATION_EXCHANGE_ORDER: Operation.EXCHANGE_ORDER,
}
OPERATION_TO_PB = {v: k for k, v in OPERATIONS.items()}


def calling_key() -> Caller:
    """The running RPC's key as the party a token is bound to: store, terminal, requester."""
    principal = caller()
    return Caller(principal.store_code or "", principal.terminal_id or "",
                  requester_key(principal.key_id, principal.store_code, principal.terminal_id))


def spend_by_caller(card_number: str, operation: Operation, amount: int) -> Spend:
    return Spend(card_number, operation, amount, calling_key())
