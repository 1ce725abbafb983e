"""AdminService: stores, card types, catalog, rule sets and API keys."""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import admin_pb2, admin_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import api_keys
from server.access.api_keys import ApiKeyInfo, check_expire_time, rotation_grace
from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.auth.keys import validate_new_key
from server.auth.principal import PrincipalKind, hash_secret, new_secret
from server.certificates.numbers import prefixes_overlap
from server.db import api_keys_repo, scope_repo
from server.db.api_keys_repo import add_api_key
from server.db.audit.repo import Change, key_change, record
from server.db.database import Database
from server.db.org import repo as org_repo
from server.db.roles.repo import load_roles
from server.errors import DomainError, ErrorKind, FieldViolation, Violations, invalid
from server.features.pricing import apply_rule_set_in
from server.members.model import CardTypeInfo
from server.org.model import (
    ProductInfo,
    StoreInfo,
    validate_card_type,
    validate_products,
    validate_store,
)
from server.security.sealing import Sealer

SERVICE = "/kopilka.v1.AdminService/"
KINDS = {
    admin_pb2.PRINCIPAL_KIND_TERMINAL: PrincipalKind.TERMINAL,
    admin_pb2.PRINCIPAL_KIND_STORE_BACKEND: PrincipalKind.STORE_BACKEND,
    admin_pb2.PRINCIPAL_KIND_OPERATOR: PrincipalKind.OPERATOR,
    admin_pb2.PRINCIPAL_KIND_INTEGRATOR: PrincipalKind.INTEGRATOR,
}
KIND_TO_PB = {kind.value: pb for pb, kind in KINDS.items()}


def api_key_pb(key: ApiKeyInfo) -> admin_pb2.ApiKey:
    """A key as listed: never its secret nor the secret's hash."""
    return admin_pb2.ApiKey(
        key_id=str(key.id), name=key.name,
        kind=KIND_TO_PB.get(key.kind, admin_pb2.PRINCIPAL_KIND_UNSPECIFIED),
        roles=list(key.roles), store_code=key.store_code or "",
        terminal_id=key.terminal_id or "", network_code=key.network_code or "",
        create_time=timestamp(key.created_at), expire_time=timestamp(key.expires_at),
        revoke_time=timestamp(key.revoked_at), last_use_time=timestamp(key.last_used_at),
        rotate_time=timestamp(key.rotated_at),
        previous_secret_expire_time=timestamp(key.previous_expires_at),
    )


def _store_pb(store: StoreInfo) -> admin_pb2.Store:
    return admin_pb2.Store(code=store.code, name=store.name, time_zone=store.time_zone,
                           network_codes=store.network_codes)


def _card_type_pb(ct: CardTypeInfo) -> admin_pb2.CardType:
    return admin_pb2.CardType(code=ct.code, name=ct.name, accrual_bps=ct.accrual_bps,
                              number_prefix=ct.number_prefix,
                              requires_verification=ct.requires_verification)


async def apply_rule_set_once(
    db: Database, request: admin_pb2.ApplyRuleSetRequest, fmt: str, applied_by: str,
    principal_id: uuid.UUID | None = None,
) -> admin_pb2.ApplyRuleSetResponse:
    """The one rule-set activation path (the RPC, `kopilka rules apply`): idempotent on the
    request id, audited, in one transaction. The rule set's version is its content's hash,
    so applying the active content again changes nothing either way; the request id is
    what makes a retry after someone else's apply return the first answer instead of
    reactivating the older set."""

    async def work(session: AsyncSession) -> admin_pb2.ApplyRuleSetResponse:
        version, count = await apply_rule_set_in(session, request.document, fmt, applied_by)
        return admin_pb2.ApplyRuleSetResponse(version=version, rule_count=count)

    return await run_once(db, SERVICE + "ApplyRuleSet", request,
                          admin_pb2.ApplyRuleSetResponse, work, principal_id=principal_id)


async def create_key_once(
    db: Database, request: admin_pb2.CreateApiKeyRequest, sealer: Sealer, now: dt.datetime,
    principal_id: uuid.UUID | None = None,
) -> admin_pb2.CreateApiKeyResponse:
    """The one key-creation path (the RPC, `kopilka apikey create`): idempotent on the
    request id, audited for the current actor, in one transaction; the stored answer, which
    holds the secret, is sealed (server/security/sealing.py)."""
    kind = KINDS.get(request.kind)
    roles = list(request.roles)
    errors = Violations()
    expires_at = time_field(request, "expire_time", errors)
    errors.raise_if_any()

    async def work(session: AsyncSession) -> admin_pb2.CreateApiKeyResponse:
        known = {role.name for role in await load_roles(session)}
        validate_new_key(request.name, kind, roles, request.store_code or None,
                         request.terminal_id or None, request.network_code or None,
                         known_roles=known)
        assert kind is not None
        check_expire_time(expires_at, now)
        if request.store_code and not await org_repo.store_exists(session, request.store_code):
            raise invalid("store_code", f"unknown store {request.store_code!r}")
        if request.network_code and not await scope_repo.network_exists(
                session, request.network_code):
            raise invalid("network_code", f"unknown store network {request.network_code!r}")
        secret = new_secret()
        key_id = await add_api_key(
            session, name=request.name.strip(), kind=kind, roles=roles,
            secret_hash=hash_secret(secret), store_code=request.store_code or None,
            terminal_id=request.terminal_id or None,
            network_code=request.network_code or None, expires_at=expires_at,
        )
        await record(session, key_change(key_id, request.name.strip(), kind, roles,
                                         request.store_code, request.terminal_id,
                                         request.network_code))
        return admin_pb2.CreateApiKeyResponse(
            key_id=str(key_id), secret=secret, create_time=timestamp(now),
            expire_time=timestamp(expires_at),
        )

    return await run_once(db, SERVICE + "CreateApiKey", request,
                          admin_pb2.CreateApiKeyResponse, work, principal_id=principal_id,
                          sealer=sealer)


async def revoke_key_once(
    db: Database, request: admin_pb2.RevokeApiKeyRequest, now: dt.datetime,
    principal_id: uuid.UUID | None = None,
) -> admin_pb2.RevokeApiKeyResponse:
    """The one revocation path (the RPC, `kopilka apikey revoke`): idempotent, audited."""
    key_id = parse_uuid(request.key_id, "key_id")

    async def work(session: AsyncSession) -> admin_pb2.RevokeApiKeyResponse:
        key = await api_keys.revoke(api_keys_repo.SqlApiKeyRepository(session), key_id, now)
        await record(session, Change("api_key", str(key_id), "revoke"))
        return admin_pb2.RevokeApiKeyResponse(key=api_key_pb(key))

    return await run_once(db, SERVICE + "RevokeApiKey", request,
                          admin_pb2.RevokeApiKeyResponse, work, principal_id=principal_id)


async def rotate_key_once(
    db: Database, request: admin_pb2.RotateApiKeyRequest, sealer: Sealer, now: dt.datetime,
    grace: dt.timedelta, principal_id: uuid.UUID | None = None,
) -> admin_pb2.RotateApiKeyResponse:
    """The one rotation path (the RPC, `kopilka apikey rotate`): idempotent on the request
    id, so a retry returns the first new secret and never rotates again; audited; the
    stored answer, which holds the secret, is sealed."""
    key_id = parse_uuid(request.key_id, "key_id")

    async def work(session: AsyncSession) -> admin_pb2.RotateApiKeyResponse:
        secret = new_secret()
        key = await api_keys.rotate(api_keys_repo.SqlApiKeyRepository(session), key_id,
                                    hash_secret(secret), now, grace)
        await record(session, Change("api_key", str(key_id), "rotate", None,
                                     {"grace_seconds": grace.total_seconds()}))
        return admin_pb2.RotateApiKeyResponse(key=api_key_pb(key), secret=secret)

    return await run_once(db, SERVICE + "RotateApiKey", request,
                          admin_pb2.RotateApiKeyResponse, work, principal_id=principal_id,
                          sealer=sealer)


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

        async def work(session: AsyncSession) -> admin_pb2.UpsertStoreResponse:
            await org_repo.upsert_store(session, store)
            await record(session, Change("store", store.code, "upsert", None, store))
            return admin_pb2.UpsertStoreResponse(store=_store_pb(store))

        return await run_once(self.deps.db, SERVICE + "UpsertStore", request,
                              admin_pb2.UpsertStoreResponse, work)

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

        async def work(session: AsyncSession) -> admin_pb2.UpsertCardTypeResponse:
            for owner, prefix in await org_repo.other_number_prefixes(session, card_type.code):
                if prefixes_overlap(prefix, card_type.number_prefix):  # else a unique violation
                    raise DomainError(
                        ErrorKind.ALREADY_EXISTS, "NUMBER_PREFIX_TAKEN",
                        f"prefix {card_type.number_prefix} overlaps {prefix} of {owner}",
                        [FieldViolation("card_type.number_prefix", f"overlaps {owner}")],
                        metadata={"owner": owner})
            await org_repo.upsert_card_type(session, card_type)
            await record(session, Change("card_type", card_type.code, "upsert", None,
                                         card_type))
            return admin_pb2.UpsertCardTypeResponse(card_type=_card_type_pb(card_type))

        return await run_once(self.deps.db, SERVICE + "UpsertCardType", request,
                              admin_pb2.UpsertCardTypeResponse, work)

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

        async def work(session: AsyncSession) -> admin_pb2.UpsertProductsResponse:
            saved = await org_repo.upsert_products(session, products)
            await record(session, *(Change("product", p.sku, "upsert", None, p)
                                    for p in products))
            return admin_pb2.UpsertProductsResponse(saved_count=saved)

        return await run_once(self.deps.db, SERVICE + "UpsertProducts", request,
                              admin_pb2.UpsertProductsResponse, work)

    async def ApplyRuleSet(
        self, request: admin_pb2.ApplyRuleSetRequest, context: Context
    ) -> admin_pb2.ApplyRuleSetResponse:
        if not request.document.strip():
            raise invalid("document", "required: the rule set as YAML or JSON")
        fmt = "json" if request.format == admin_pb2.RULE_SET_FORMAT_JSON else "yaml"
        answer = await apply_rule_set_once(self.deps.db, request, fmt, caller().label)
        await self.deps.pricing.refresh()
        return answer

    async def CreateApiKey(
        self, request: admin_pb2.CreateApiKeyRequest, context: Context
    ) -> admin_pb2.CreateApiKeyResponse:
        return await create_key_once(self.deps.db, request, self.deps.answers_sealer(),
                                     self.deps.clock())

    async def ListApiKeys(
        self, request: admin_pb2.ListApiKeysRequest, context: Context
    ) -> admin_pb2.ListApiKeysResponse:
        async with self.deps.db.transaction() as session:
            keys = await api_keys_repo.list_api_keys(session,
                                                     include_revoked=request.include_revoked)
        return admin_pb2.ListApiKeysResponse(keys=[api_key_pb(k) for k in keys])

    async def RevokeApiKey(
        self, request: admin_pb2.RevokeApiKeyRequest, context: Context
    ) -> admin_pb2.RevokeApiKeyResponse:
        return await revoke_key_once(self.deps.db, request, self.deps.clock())

    async def RotateApiKey(
        self, request: admin_pb2.RotateApiKeyRequest, context: Context
    ) -> admin_pb2.RotateApiKeyResponse:
        grace = rotation_grace(
            request.grace_period.ToTimedelta().total_seconds()
            if request.HasField("grace_period") else None,
            self.deps.settings.api_key_rotation_grace_seconds)
        return await rotate_key_once(self.deps.db, request, self.deps.answers_sealer(),
                                     self.deps.clock(), grace)

    async def Echo(
        self, request: admin_pb2.EchoRequest, context: Context
    ) -> admin_pb2.EchoResponse:
        return admin_pb2.EchoResponse(payload=request.payload, principal=caller().label)
