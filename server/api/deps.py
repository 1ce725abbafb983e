"""What every servicer needs, built once by the composition root."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.auth.principal import Principal, current_principal
from server.auth.roles import Access, RoleBook
from server.db.database import Database
from server.db.ledger.pool import LedgerPool
from server.errors import invalid
from server.events.consumers import EventConsumers
from server.features.pricing import PricingState
from server.ledger.service import LedgerService
from server.outbox.dispatcher import OutboxDispatcher
from server.plugin_host import PluginHost
from server.security.sealing import Sealer
from server.security.signing import Signer
from server.settings import Settings

#: The HKDF purpose of the key sealing stored answers (the CLI derives the same one).
IDEMPOTENCY_PURPOSE = "idempotency-answers"


@dataclass
class ApiDeps:
    """Shared collaborators of the servicers, each built and wired by `build_app`."""

    db: Database
    settings: Settings
    pricing: PricingState  # the in-memory pricing snapshot, loaded before serving
    ledger_pool: LedgerPool  # asyncpg pool of ConfirmReceipt and RedeemBonus
    plugins: PluginHost
    outbox: OutboxDispatcher | None  # None when KOPILKA_OUTBOX_ENABLED=false
    ledger: LedgerService  # ConfirmReceipt's and RedeemBonus's one path to the ledger
    # The wall clock of logins, sessions and key lifetimes (aware UTC); tests move it.
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    # The roles as last loaded (server/features/roles.py); the interceptor checks with it.
    roles: RoleBook = field(default_factory=RoleBook)
    # In-process consumers of domain events, run by this process's dispatcher after the
    # plugins' hook (server/events/consumers.py; `EVENT_CONSUMERS` in server.app fills it).
    events: EventConsumers = field(default_factory=EventConsumers)
    # Every unary and server-streamed RPC's handler as the gRPC server runs it (wrapped by
    # ApiInterceptor), by full method name: JSON over HTTP calls these (connect_http.py).
    rpc_handlers: dict[str, Any] = field(default_factory=dict)
    _signer: Signer | None = field(default=None, init=False)

    @property
    def signer(self) -> Signer:
        """The token signer; loaded from the database when the app starts."""
        if self._signer is None:
            raise RuntimeError("App.start() has not loaded the signing secret yet")
        return self._signer

    def load_signer(self, secret: bytes) -> None:
        """Install the signer for the stored secret (App.start(), before serving)."""
        self._signer = Signer(secret)

    def answers_sealer(self) -> Sealer:
        """Seals the stored first answers that carry a secret (server/api/idempotency.py)."""
        return self.signer.sealer(IDEMPOTENCY_PURPOSE)

    def access(self) -> Access:
        """What the running RPC's caller may do and see (its roles' grants and view)."""
        return self.roles.access(caller())


def caller() -> Principal:
    """The authenticated principal of the running RPC (set by ApiInterceptor)."""
    principal = current_principal.get()
    if principal is None:  # only reachable if a servicer runs without the interceptor
        raise RuntimeError("no authenticated principal in this context")
    return principal


def acting_store(requested: str, field_path: str = "store_code") -> str:
    """The store a call acts for: a store-bound key (a till, a web shop) only for its own."""
    bound = caller().store_code
    if bound:
        if requested and requested != bound:
            raise invalid(field_path, f"this key belongs to store {bound!r}")
        return bound
    if not requested:
        raise invalid(field_path, "required")
    return requested


def acting_terminal(requested: str, field_path: str = "terminal_id", *,
                    may_be_empty: bool = True) -> str:
    """The terminal a call acts as: a terminal-bound key only as its own terminal.

    Empty means "the key's terminal" (`may_be_empty`); where the terminal comes from a
    signed calculation rather than the caller, pass `may_be_empty=False` so a calculation
    made without a terminal cannot be booked by a terminal key.
    """
    bound = caller().terminal_id
    if bound:
        if requested != bound and (requested or not may_be_empty):
            raise invalid(field_path, f"this key belongs to terminal {bound!r}")
        return bound
    return requested
