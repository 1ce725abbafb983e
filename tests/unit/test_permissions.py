"""Every RPC in the proto declares the permission it needs, and roles stay sensible."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import kopilka.v1
from kopilka.cli import SERVICES

from server.app import SERVICERS
from server.auth.permissions import ROLES, RPC_PERMISSIONS, Permission


def _proto_modules() -> list[ModuleType]:
    """Every generated *_pb2 module: a new .proto file is covered without listing it."""
    return [importlib.import_module(f"kopilka.v1.{info.name}")
            for info in pkgutil.iter_modules(kopilka.v1.__path__)
            if info.name.endswith("_pb2")]


def _services() -> list:  # type: ignore[type-arg]
    return [service for module in _proto_modules()
            for service in module.DESCRIPTOR.services_by_name.values()]


def _all_rpcs() -> set[str]:
    return {f"/{service.full_name}/{method.name}"
            for service in _services() for method in service.methods}


def test_every_service_is_served_and_reachable_from_the_client_cli() -> None:
    names = {service.full_name for service in _services()}
    assert len(names) >= 7
    assert {name for _, _, name in SERVICERS} == names, "add the service to server.app.SERVICERS"
    assert {f"kopilka.v1.{name}" for name in SERVICES} == names, "add it to kopilka.cli.MODULES"


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


def test_only_back_office_roles_read_whole_profiles() -> None:
    personal = Permission.MEMBERS_READ_PERSONAL
    assert {role for role, granted in ROLES.items() if personal in granted} == {"operator",
                                                                                "admin"}


def test_rate_limited_lookups_are_real_reads_and_never_the_sale_path() -> None:
    from server.auth.limits import LOOKUP_RPCS

    assert set(RPC_PERMISSIONS) >= LOOKUP_RPCS
    assert not {name for name in LOOKUP_RPCS if name.endswith(("CalculateReceipt",
                                                               "ConfirmReceipt"))}
