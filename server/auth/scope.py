"""Which stores a principal may act on: the one rule every store-scoped operation uses.

A store-bound key (a till, a web shop) acts for its store only; a network-bound key (a
regional office) for every store of its network; a key with neither (an operator, an
administrator) for all stores. Money that belongs to a store's receipts and certificate
payments moves only within the scope of the key that asks.
"""

from __future__ import annotations

from collections.abc import Collection

from server.auth.principal import Principal


def needs_networks(principal: Principal) -> bool:
    """True when `may_act_on_store` must be told the store's networks to answer."""
    return principal.store_code is None and principal.network_code is not None


def may_act_on_store(principal: Principal, store_code: str | None,
                     store_networks: Collection[str] = ()) -> bool:
    """May `principal` act on (sell, refund, cancel, spend in) the store `store_code`?

    `store_networks` are the networks the store belongs to; only a network-bound key needs
    them. Something that belongs to no store (`store_code` None) is for unscoped keys only.
    """
    if principal.store_code is not None:
        return store_code == principal.store_code
    if principal.network_code is not None:
        return store_code is not None and principal.network_code in store_networks
    return True


def scope_label(principal: Principal) -> str:
    """The scope in words, for refusal messages to the key's own holder."""
    if principal.store_code is not None:
        return f"store {principal.store_code!r}"
    if principal.network_code is not None:
        return f"the stores of network {principal.network_code!r}"
    return "all stores"


def visible_stores(principal: Principal, network_stores: frozenset[str] = frozenset()
                   ) -> frozenset[str] | None:
    """The store codes whose receipts `principal` may read (None: every store), by the same
    rule as `may_act_on_store`; `network_stores` are the stores of a network key's network."""
    if principal.store_code is not None:
        return frozenset({principal.store_code})
    if principal.network_code is not None:
        return network_stores
    return None
