"""Demo data so a new user can try every RPC: stores, card types, catalog, members, keys.

Safe to run again: everything is upserted or skipped when present. The demo keys have
fixed, public secrets — for trying things out only, never for production.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from kopilka.v1 import admin_pb2
from sqlalchemy import select

from server.api.servicers.admin import apply_rule_set_once
from server.auth.principal import PrincipalKind, hash_secret
from server.certificates import service as certificates
from server.certificates.model import CertificateKind, CertificateTypeInfo
from server.db.api_keys_repo import add_api_key
from server.db.certificates.repo import SqlCertificateRepository
from server.db.database import Database
from server.db.members.repo import SqlMemberRepository
from server.db.models import ApiKey
from server.db.org import repo as org_repo
from server.members import service
from server.members.model import CardTypeInfo, Profile, RegistrationChannel
from server.org.model import ProductInfo, StoreInfo

STORES = [
    StoreInfo("kyiv-01", "Kyiv, Khreshchatyk 1", "Europe/Kyiv", ("kyiv", "retail")),
    StoreInfo("kyiv-02", "Kyiv, Podil", "Europe/Kyiv", ("kyiv", "retail")),
    StoreInfo("lviv-01", "Lviv, Rynok Square", "Europe/Kyiv", ("lviv", "retail")),
    StoreInfo("web", "Online store", "Europe/Kyiv", ("online",)),
]

CARD_TYPES = [
    CardTypeInfo("silver", "Silver card", 500, "2900", False),
    CardTypeInfo("gold", "Gold card", 1000, "2910", True),
]

# Gift certificates (docs/certificates.md): two face values sold at the till, and a coffee
# box exchanged for any coffee product.
CERTIFICATE_TYPES = [
    CertificateTypeInfo("gift-500", "Gift certificate 500 UAH", CertificateKind.MONEY, "UAH",
                        (50000,), number_prefix="2200", valid_days=365),
    CertificateTypeInfo("gift-1000", "Gift certificate 1000 UAH", CertificateKind.MONEY, "UAH",
                        (100000,), number_prefix="2201", valid_days=365),
    CertificateTypeInfo("coffee-box", "A box of coffee", CertificateKind.PRODUCT, "UAH",
                        (45000,), number_prefix="2300", valid_days=180,
                        product_groups=("coffee",)),
]

_GROUPS = {
    "dairy": ("milk", "Halychyna", "sup-halychyna"),
    "bakery": ("bread", "Kyivkhlib", "sup-kyivkhlib"),
    "drinks": ("water", "Morshynska", "sup-idsb"),
    "coffee": ("beans", "Lviv Coffee", "sup-lvivcoffee"),
    "sweets": ("chocolate", "Roshen", "sup-roshen"),
}

PRODUCTS = [
    ProductInfo(
        f"{group}-{n:02d}", f"{brand} {subgroup} #{n}", group, subgroup, brand, supplier,
        "premium" if n == 5 else "regular", (f"482{i:03d}{n:06d}",),
    )
    for i, (group, (subgroup, brand, supplier)) in enumerate(_GROUPS.items())
    for n in range(1, 6)
]

MEMBERS = [
    (Profile(first_name="Olena", last_name="Koval", phone="+380671234567",
             email="olena@example.com", gender="female"), "gold"),
    (Profile(first_name="Taras", last_name="Shevchuk", phone="+380501112233",
             gender="male"), "silver"),
    (Profile(first_name="Iryna", last_name="Bondar", email="iryna@example.com"), "silver"),
]

#: The demo's rule set goes through ApplyRuleSet's run-once path under a request id derived
#: from its text and a principal of its own: loading the demo again gets the first answer
#: (and never re-activates the demo rules over ones applied since).
DEMO_NAMESPACE = uuid.UUID("2d6f3c1e-8a57-4f0b-9c2e-5b7d1a4e9f30")

# (secret, name, kind, roles, store, terminal)
PROMOTIONS = Path(__file__).with_name("demo_promotions.yaml")

DEMO_KEYS = [
    ("kpk_demo_admin", "demo admin", PrincipalKind.OPERATOR, ["admin"], None, None),
    ("kpk_demo_operator", "demo operator", PrincipalKind.OPERATOR, ["operator"], None, None),
    ("kpk_demo_cashier", "demo till 1", PrincipalKind.TERMINAL, ["cashier"], "kyiv-01", "till-1"),
    ("kpk_demo_web", "demo web store", PrincipalKind.STORE_BACKEND, ["store_backend"], "web",
     None),
]


def _scope(store: str | None, terminal: str | None) -> str:
    """Where a demo key acts, for the banner: a till key works for its store only."""
    if store is None:
        return " (every store)"
    return f" (store {store}" + (f", terminal {terminal})" if terminal else ")")


async def load_demo_data(database_url: str) -> str:
    """Load everything in one transaction; returns a summary for the console."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.transaction() as session:
            for store in STORES:
                await org_repo.upsert_store(session, store)
            for card_type in CARD_TYPES:
                await org_repo.upsert_card_type(session, card_type)
            await org_repo.upsert_products(session, PRODUCTS)
            cert_repo = SqlCertificateRepository(session)
            for certificate_type in CERTIFICATE_TYPES:
                if await cert_repo.certificate_type(certificate_type.code) is None:
                    await certificates.upsert_type(cert_repo, certificate_type)
            repo = SqlMemberRepository(session)
            for profile, card_type_code in MEMBERS:
                if await repo.member_id_by_contact(phone=profile.phone, email=None) if \
                        profile.phone else await repo.member_id_by_contact(email=profile.email):
                    continue
                await service.register_member(
                    repo, profile, RegistrationChannel.OPERATOR, issue_card_type=card_type_code,
                    region="UA", principal="demo", sees_vip=True,
                )
            for secret, name, kind, roles, store_code, terminal in DEMO_KEYS:
                digest = hash_secret(secret)
                if await session.scalar(select(ApiKey.id).where(ApiKey.secret_hash == digest)):
                    continue
                await add_api_key(session, name=name, kind=kind, roles=roles,
                                  secret_hash=digest, store_code=store_code, terminal_id=terminal)
        document = PROMOTIONS.read_text(encoding="utf-8")
        applied = await apply_rule_set_once(db, admin_pb2.ApplyRuleSetRequest(
            request_id=str(uuid.uuid5(DEMO_NAMESPACE, "rules:" + document)), document=document),
            "yaml", "demo", principal_id=uuid.uuid5(DEMO_NAMESPACE, "principal"))
        version, rule_count = applied.version, applied.rule_count
    finally:
        await db.dispose()
    keys = "\n".join(f"  {secret:<20} {', '.join(roles)}{_scope(store, terminal)}"
                     for secret, _, _, roles, store, terminal in DEMO_KEYS)
    return (f"demo data: {len(STORES)} stores, {len(CARD_TYPES)} card types, "
            f"{len(PRODUCTS)} products, {len(MEMBERS)} members, {rule_count} promotions "
            f"(rule set {version}), certificate types "
            f"{', '.join(t.code for t in CERTIFICATE_TYPES)}. Demo API keys:\n{keys}")

