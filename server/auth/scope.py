"""Which stores' data a principal may read: the one decision, so it can widen in one place.

A store-bound key (a till, a web shop) sees its own store; a key bound to no store (an
operator, an integrator, an admin) sees every store. Store networks on keys will widen the
first case here.
"""

from __future__ import annotations

from server.auth.principal import Principal


def visible_stores(principal: Principal) -> frozenset[str] | None:
    """The store codes whose receipts `principal` may read; None: every store."""
    if principal.store_code:
        return frozenset({principal.store_code})
    return None
