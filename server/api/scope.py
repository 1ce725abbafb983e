"""The store-scope check as the servicers use it: caller, store, and where its networks are.

The rule itself is server.auth.scope.may_act_on_store (pure); this module only finds the
store's networks (from the database, or the pricing snapshot on the sale path) and turns a
refusal into the error the API promises.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import acting_store, caller
from server.auth.scope import may_act_on_store, needs_networks, scope_label
from server.db import scope_repo
from server.errors import DomainError, invalid, not_found

# store code -> the networks it belongs to
NetworksOf = Callable[[str], Awaitable[Collection[str]]]


def session_networks(session: AsyncSession) -> NetworksOf:
    """Networks read in the caller's transaction, each store once per call."""
    seen: dict[str, Collection[str]] = {}

    async def networks_of(store_code: str) -> Collection[str]:
        if store_code not in seen:
            seen[store_code] = await scope_repo.store_network_codes(session, store_code)
        return seen[store_code]

    return networks_of


def snapshot_networks(stores: Mapping[str, Any]) -> NetworksOf:
    """Networks from the pricing snapshot's stores (`network_ids`): the sale path reads no
    database for them; the snapshot follows store changes within the refresh interval."""
    async def networks_of(store_code: str) -> Collection[str]:
        store = stores.get(store_code)
        return store.network_ids if store is not None else ()

    return networks_of


async def may_act_on(store_code: str | None, networks_of: NetworksOf) -> bool:
    """May the caller act on this store? Networks are looked up for network keys only."""
    principal = caller()
    if store_code is None or not needs_networks(principal):
        return may_act_on_store(principal, store_code)
    return may_act_on_store(principal, store_code, await networks_of(store_code))


def out_of_scope(field_path: str) -> DomainError:
    """The refusal of a store the caller named itself: it knows the store, nothing leaks."""
    return invalid(field_path, f"this key acts for {scope_label(caller())} only")


async def acting_store_in_scope(requested: str, networks_of: NetworksOf,
                                field_path: str = "store_code") -> str:
    """`acting_store`, and a network key only for a store of its network."""
    store = acting_store(requested, field_path)
    if not await may_act_on(store, networks_of):
        raise out_of_scope(field_path)
    return store


async def check_receipt_in_scope(session: AsyncSession, receipt_id: uuid.UUID) -> None:
    """A receipt of a store outside the caller's scope is answered as unknown: same code,
    reason and message, so a till learns nothing about another store's receipts."""
    store = await scope_repo.receipt_store_code(session, receipt_id)
    if store is None or not await may_act_on(store, session_networks(session)):
        raise not_found("receipt", str(receipt_id), "RECEIPT_NOT_FOUND")
