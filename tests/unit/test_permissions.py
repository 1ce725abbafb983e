"""Every RPC in the proto declares the permission it needs, and roles stay sensible."""

from __future__ import annotations

from kopilka.v1 import (
    admin_pb2,
    bonus_pb2,
    certificates_pb2,
    members_pb2,
    receipts_pb2,
    verification_pb2,
)

from server.auth.permissions import ROLES, RPC_PERMISSIONS, Permission

MODULES = [admin_pb2, bonus_pb2, certificates_pb2, members_pb2, receipts_pb2, verification_pb2]


def _all_rpcs() -> set[str]:
    return {
        f"/{service.full_name}/{method.name}"
        for module in MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


def test_every_rpc_declares_a_permission() -> None:
    rpcs = _all_rpcs()
    assert len(rpcs) > 20
    assert rpcs - set(RPC_PERMISSIONS) == set(), "add the new RPCs to RPC_PERMISSIONS"
    assert set(RPC_PERMISSIONS) - rpcs == set(), "RPC_PERMISSIONS names RPCs the proto lacks"


def test_cashier_sells_but_does_not_administer() -> None:
    cashier = ROLES["cashier"]
    assert Permission.RECEIPTS_CONFIRM in cashier and Permission.BONUS_REDEEM in cashier
    assert Permission.CONFIG_WRITE not in cashier and Permission.BONUS_ADJUST not in cashier
    assert Permission.API_KEYS_MANAGE not in ROLES["operator"]
    assert ROLES["admin"] == frozenset(Permission)
