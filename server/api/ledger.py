"""The ledger service the servicers share, made once per App from its pool and signer."""

from __future__ import annotations

from server.api.deps import ApiDeps
from server.db.ledger_store import SqlLedgerStore
from server.features.ledger_pool import EXTRA as LEDGER_POOL
from server.ledger.service import LedgerService

_KEY = "ledger_service"


def ledger_service(deps: ApiDeps) -> LedgerService:
    """ConfirmReceipt's and RedeemBonus's one path to the ledger (built on first use: the
    signer is loaded when the App starts)."""
    service = deps.extras.get(_KEY)
    if service is None:
        service = LedgerService(SqlLedgerStore(deps.extras[LEDGER_POOL], deps.db), deps.signer)
        deps.extras[_KEY] = service
    return service
