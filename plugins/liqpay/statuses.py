"""LiqPay payment statuses -> the contract's ``PaymentState``.

Only ``success`` (and ``sandbox`` when the merchant runs in sandbox mode) means paid.
``wait_accept`` (money taken, shop not yet verified by LiqPay) stays pending: LiqPay may
still return the money. Every verification step (``3ds_verify``, ``otp_verify``, ...),
waiting state and any status we do not know are pending too: an unknown word must never
turn into "paid" or "failed".
"""

from __future__ import annotations

from server.plugin_api import PaymentState

_FINAL = {
    "success": PaymentState.SUCCEEDED,
    "failure": PaymentState.FAILED,
    "error": PaymentState.FAILED,
    "reversed": PaymentState.REVERSED,
}


def to_state(status: str, *, sandbox_mode: bool) -> PaymentState:
    """Map a LiqPay ``status``; unknown and intermediate statuses are ``PENDING``."""
    if status == "sandbox":  # a test payment: paid only if we asked for test payments
        return PaymentState.SUCCEEDED if sandbox_mode else PaymentState.FAILED
    return _FINAL.get(status, PaymentState.PENDING)
