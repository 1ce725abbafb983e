"""Every RPC in the proto declares the permission it needs; roles resolve as documented."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import uuid
from types import ModuleType

import kopilka.v1
import pytest
from kopilka.cli import SERVICES

from server.app import SERVICERS
from server.auth.permissions import NEEDS, RPC_PERMISSIONS, Permission
from server.auth.principal import Principal, PrincipalKind
from server.auth.roles import RawGrant, RoleBook, parse_role
from server.errors import DomainError, ErrorKind
from server.members.views import MemberView


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


def test_every_permission_is_one_right_and_no_two_share_it() -> None:
    """Each permission is one (object type, action); sharing one would tie two RPCs together
    in every role, so a custom role could not grant one without the other."""
    assert set(NEEDS) == set(Permission), "add the new permission to NEEDS"
    rights = [right for right in NEEDS.values() if right is not None]
    assert len(rights) == len(set(rights))
    assert [p for p, right in NEEDS.items() if right is None] == [Permission.ECHO]
    assert set(RPC_PERMISSIONS.values()) == set(Permission)  # none is dead


def test_a_role_names_every_bad_field_at_once() -> None:
    with pytest.raises(DomainError) as caught:
        parse_role("Bad Name", [RawGrant("members", "read"), RawGrant("memberz", "read"),
                                RawGrant("cards", "steal"), RawGrant("cards", "read", "planet")],
                   ["first_name", "shoe_size"], mask_phone=True)
    assert caught.value.kind is ErrorKind.INVALID_ARGUMENT
    assert [v.field for v in caught.value.violations] == [
        "role.name", "role.grants[1].object_type", "role.grants[2].action",
        "role.grants[3].scope", "role.member_fields[1]"]


def test_a_grant_counts_only_for_keys_bound_within_its_scope() -> None:
    till = parse_role("till", [RawGrant("orders", "create", "own_store")], [], True)
    book = RoleBook([till])
    key = Principal(uuid.uuid4(), "k", PrincipalKind.TERMINAL, ("till",), store_code="s1")
    assert book.allows(key, Permission.RECEIPTS_CONFIRM)
    for wide in (dataclasses.replace(key, store_code=None, network_code="north"),
                 dataclasses.replace(key, store_code=None)):
        assert not book.allows(wide, Permission.RECEIPTS_CONFIRM)
    assert book.allows(key, Permission.ECHO) and not book.allows(key, Permission.BONUS_READ)


def test_several_roles_show_the_union_of_their_fields() -> None:
    sale = parse_role("sale", [], ["first_name", "phone"], mask_phone=True)
    mail = parse_role("mail", [RawGrant("vip_members", "read", "own_store")], ["email"], False)
    key = Principal(uuid.uuid4(), "k", PrincipalKind.OPERATOR, ("sale", "mail"))
    view = RoleBook([sale, mail]).access(key).member_view
    # mail shows no phone, so the phone stays masked; its VIP grant needs a store-bound key
    assert view == MemberView(frozenset({"first_name", "phone", "email"}), True, False)


def test_rate_limited_lookups_are_real_reads_and_never_the_sale_path() -> None:
    from server.auth.limits import LOOKUP_RPCS

    assert set(RPC_PERMISSIONS) >= LOOKUP_RPCS
    assert not {name for name in LOOKUP_RPCS if name.endswith(("CalculateReceipt",
                                                               "ConfirmReceipt"))}
