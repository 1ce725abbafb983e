"""CalculateReceipt (the pricing hot path); wired to the pricing engine by its feature."""

from __future__ import annotations

from server.errors import DomainError, ErrorKind


class CalculateReceiptMixin:
    """Mixed into ReceiptServicer so pricing and the ledger evolve in separate modules."""

    async def CalculateReceipt(self, request, context):  # type: ignore[no-untyped-def]
        raise DomainError(ErrorKind.UNIMPLEMENTED, "NOT_IMPLEMENTED_YET",
                          "CalculateReceipt arrives with the pricing engine")
