"""The vocabulary of roles: object types, actions and scopes (seed 003 "User roles").

A role grants actions on object types, each within a scope. A scope does not widen a key:
the key's own binding (server/auth/scope.py) still says which stores it acts for. It says
which keys the grant counts for: `own_store` only for keys bound to a store, `network` for
keys bound to a store or a store network, `all` for every key. So a role written for tills
(`own_store`) gives nothing to a key that could act for every store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class ObjectType(StrEnum):
    """What a grant is about."""

    MEMBERS = "members"
    VIP_MEMBERS = "vip_members"  # read: see VIP members at all; update: mark them VIP
    CARDS = "cards"
    POINTS = "points"
    CASH_ACCOUNTS = "cash_accounts"
    CERTIFICATES = "certificates"
    PROMOTIONS = "promotions"
    BONUS_RULES = "bonus_rules"
    ORDERS = "orders"  # receipts: calculation, confirmation, refunds, SMS approval
    WEB_ORDERS = "web_orders"  # online-store orders: place, act on, return, store answers
    MAILINGS = "mailings"
    CAMPAIGNS = "campaigns"
    SURVEYS = "surveys"
    COUPONS = "coupons"  # discount coupons: read, create (issue), update (block)
    APPEALS = "appeals"
    CATALOG = "catalog"
    STORES = "stores"  # stores, card types and other program settings
    KEYS = "keys"
    USERS = "users"
    ROLES = "roles"
    AUDIT = "audit"
    SHOPPING = "shopping"  # baskets, wishlists, site events, recommendations (online store)
    IMPORTS = "imports"  # historical data migration (issue 19)


class Action(StrEnum):
    """What may be done to an object type."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    APPROVE = "approve"
    EXPORT = "export"


class Scope(StrEnum):
    """The widest key binding a grant counts for (see the module docstring)."""

    OWN_STORE = "own_store"
    NETWORK = "network"
    ALL = "all"


class Binding(IntEnum):
    """How widely a key is bound, narrowest first (compared with a grant's scope)."""

    STORE = 0
    NETWORK = 1
    ALL = 2


SCOPE_REACH = {Scope.OWN_STORE: Binding.STORE, Scope.NETWORK: Binding.NETWORK,
               Scope.ALL: Binding.ALL}


@dataclass(frozen=True, slots=True)
class Grant:
    """One right: `action` on `object_type` for keys bound within `scope`."""

    object_type: ObjectType
    action: Action
    scope: Scope = Scope.ALL

    def counts_for(self, binding: Binding) -> bool:
        return binding <= SCOPE_REACH[self.scope]


Right = tuple[ObjectType, Action]
