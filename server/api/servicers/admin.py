"""AdminService: stores, card types, catalog, rule sets and API keys."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import admin_pb2, admin_pb2_grpc

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.auth.keys import validate_new_key
from server.auth.principal import PrincipalKind, hash_secret, new_secret
from server.certificates.numbers import prefixes_overlap
from server.db import scope_repo
from server.db.api_keys_repo import add_api_key
from server.db.org import repo as org_repo
from server.errors import DomainError, ErrorKind, FieldViolation, invalid
from server.features.pricing import apply_rule_set
from server.members.model import CardTypeInfo
from server.org.model import (
    ProductInfo,
    StoreInfo,
    validate_card_type,
    validate_products,
    validate_store,
)

KINDS = {
    admin_pb2.PRINCIPAL_KIND_TERMINAL: PrincipalKind.TERMINAL,
    admin_pb2.PRINCIPAL_KIND_STORE_BACKEND: PrincipalKind.STORE_BACKEND,
    admin_pb2.PRINCIPAL_KIND_OPERATOR: PrincipalKind.OPERATOR,
    admin_pb2.PRINCIPAL_KIND_INTEGRATOR: PrincipalKind.INTEGRATOR,
}


def _store_pb(store: StoreInfo) -> admin_pb2.Store:
    return admin_pb2.Store(code=store.code, name=store.name, time_zone=store.time_zone,
                           network_codes=store.network_codes)


def _card_type_pb(ct: CardTypeInfo) -> admin_pb2.CardType:
    return admin_pb2.CardType(code=ct.code, name=ct.name, accrual_bps=ct.accrual_bps,
                              number_prefix=ct.number_prefix,
                              requires_verification=ct.requires_verification)


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def UpsertStore(
        self, request: admin_pb2.UpsertStoreRequest, context: Context
    ) -> admin_pb2.UpsertStoreResponse:
        pb = request.store
        store = StoreInfo(pb.code, pb.name, pb.time_zone or "Europe/Kyiv",
                          tuple(dict.fromkeys(pb.network_codes)))
        validate_store(store)
        async with self.deps.db.transaction() as session:
            await org_repo.upsert_store(session, store)
        return admin_pb2.UpsertStoreResponse(store=_store_pb(store))

    async def ListStores(
        self, request: admin_pb2.ListStoresRequest, context: Context
    ) -> admin_pb2.ListStoresResponse:
        async with self.deps.db.transaction() as session:
            stores = await org_repo.list_stores(session)
        return admin_pb2.ListStoresResponse(stores=[_store_pb(s) for s in stores])

    async def UpsertCardType(
        self, request: admin_pb2.UpsertCardTypeRequest, context: Context
    ) -> admin_pb2.UpsertCardTypeResponse:
        pb = request.card_type
        card_type = CardTypeInfo(pb.code, pb.name, pb.accrual_bps, pb.number_prefix,
                                 pb.requires_verification)
        validate_card_type(card_type)
        async with self.deps.db.transaction() as session:
            for owner, prefix in await org_repo.other_number_prefixes(session, card_type.code):
                if prefixes_overlap(prefix, card_type.number_prefix):  # else a unique violation
                    raise DomainError(
                        ErrorKind.ALREADY_EXISTS, "NUMBER_PREFIX_TAKEN",
                        f"prefix {card_type.number_prefix} overlaps {prefix} of {owner}",
                        [FieldViolation("card_type.number_prefix", f"overlaps {owner}")],
                        metadata={"owner": owner})
            await org_repo.upsert_card_type(session, card_type)
        return admin_pb2.UpsertCardTypeResponse(card_type=_card_type_pb(card_type))

    async def ListCardTypes(
        self, request: admin_pb2.ListCardTypesRequest, context: Context
    ) -> admin_pb2.ListCardTypesResponse:
        async with self.deps.db.transaction() as session:
            types = await org_repo.list_card_types(session)
        return admin_pb2.ListCardTypesResponse(card_types=[_card_type_pb(t) for t in types])

    async def UpsertProducts(
        self, request: admin_pb2.UpsertProductsRequest, context: Context
    ) -> admin_pb2.UpsertProductsResponse:
        products = [
            ProductInfo(p.sku, p.name, p.group_code, p.subgroup_code, p.brand, p.supplier_code,
                        p.price_category, tuple(p.barcodes))
            for p in request.products
        ]
        validate_products(products)
        async with self.deps.db.transaction() as session:
            saved = await org_repo.upsert_products(session, products)
        return admin_pb2.UpsertProductsResponse(saved_count=saved)

    async def ApplyRuleSet(
        self, request: admin_pb2.ApplyRuleSetRequest, context: Context
    ) -> admin_pb2.ApplyRuleSetResponse:
        if not request.document.strip():
            raise invalid("document", "required: the rule set as YAML or JSON")
        fmt = "json" if request.format == admin_pb2.RULE_SET_FORMAT_JSON else "yaml"
        version, count = await apply_rule_set(self.deps.db, request.document, fmt,
                                              caller().label)
        await self.deps.pricing.refresh()
        return admin_pb2.ApplyRuleSetResponse(version=version, rule_count=count)

    async def CreateApiKey(
        self, request: admin_pb2.CreateApiKeyRequest, context: Context
    ) -> admin_pb2.CreateApiKeyResponse:
        kind = KINDS.get(request.kind)
        roles = list(request.roles)
        validate_new_key(request.name, kind, roles, request.store_code or None,
                         request.terminal_id or None, request.network_code or None)
        assert kind is not None
        secret = new_secret()
        async with self.deps.db.transaction() as session:
            if request.store_code and not await org_repo.store_exists(session, request.store_code):
                raise invalid("store_code", f"unknown store {request.store_code!r}")
            if request.network_code and not await scope_repo.network_exists(
                    session, request.network_code):
                raise invalid("network_code", f"unknown store network {request.network_code!r}")
            key_id = await add_api_key(
                session, name=request.name.strip(), kind=kind, roles=roles,
                secret_hash=hash_secret(secret), store_code=request.store_code or None,
                terminal_id=request.terminal_id or None,
                network_code=request.network_code or None,
            )
        return admin_pb2.CreateApiKeyResponse(
            key_id=str(key_id), secret=secret, create_time=timestamp(dt.datetime.now(dt.UTC))
        )

    async def Echo(
        self, request: admin_pb2.EchoRequest, context: Context
    ) -> admin_pb2.EchoResponse:
        return admin_pb2.EchoResponse(payload=request.payload, principal=caller().label)
