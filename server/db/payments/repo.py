"""Legal entities and order payments in SQL, on the session's asyncpg connection (inside its
transaction). Ledger methods are charged and refunded through the ledger's primitives
(server/db/ledger, server/db/certificates/payments.py): no second implementation of a spend.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual import Lot
from server.db.certificates.payments import pay_with_certificate, refund_to_certificate
from server.db.ledger.cash import credit_cash, pay_from_cash
from server.db.ledger.repo import (
    accrue,
    lock_points_accounts,
    new_tx,
    raw_connection,
    spend_points,
)
from server.db.payments import models as _models  # noqa: F401  (registers the tables)
from server.errors import invalid
from server.payments.entities import Entity, NovaPoshtaSender, TaxStatus
from server.payments.plan import Method, Payment, State

ENTITY_COLUMNS = ("code, name, edrpou, iban, tax_status, address, liqpay_public_key, "
                  "np_sender_ref, np_contact_ref, np_city_ref, np_address_ref, np_phone")
PAYMENT_COLUMNS = ("id, order_id, entity_code, method, amount_minor, currency, state, "
                   "certificate_number, ledger_tx_id, provider, provider_order_id, "
                   "provider_payment_id, provider_status, refunded_minor")


INVOICE_COLUMNS = "id, entity_code, number, order_id, total_minor, vat_minor, currency, pdf"


@dataclass(frozen=True, slots=True)
class StoredInvoice:
    id: uuid.UUID
    entity_code: str
    number: int
    order_id: uuid.UUID
    total_minor: int
    vat_minor: int
    currency: str
    pdf: bytes


def _entity(row: asyncpg.Record) -> Entity:
    return Entity(row["code"], row["name"], row["edrpou"], row["iban"],
                  TaxStatus(row["tax_status"]), row["address"], row["liqpay_public_key"],
                  NovaPoshtaSender(row["np_sender_ref"], row["np_contact_ref"],
                                   row["np_city_ref"], row["np_address_ref"],
                                   row["np_phone"]))


def _payment(row: asyncpg.Record) -> Payment:
    return Payment(row["id"], row["order_id"], row["entity_code"], Method(row["method"]),
                   row["amount_minor"], row["currency"], State(row["state"]),
                   row["certificate_number"], row["ledger_tx_id"], row["provider"],
                   row["provider_order_id"], row["provider_payment_id"],
                   row["provider_status"], row["refunded_minor"])


class SqlPayments:
    """Entities, assignments, payments and callbacks inside one transaction."""

    def __init__(self, session: AsyncSession, conn: asyncpg.Connection) -> None:
        self.session = session
        self.conn = conn

    @classmethod
    async def of(cls, session: AsyncSession) -> SqlPayments:
        return cls(session, await raw_connection(session))

    # --- entities ---------------------------------------------------------------------

    async def upsert_entity(self, e: Entity) -> None:
        try:
            await self.conn.execute(
                f"INSERT INTO legal_entities ({ENTITY_COLUMNS}, invoice_next) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1) "
                "ON CONFLICT (code) DO UPDATE SET name = $2, edrpou = $3, iban = $4, "
                "tax_status = $5, address = $6, liqpay_public_key = $7, np_sender_ref = $8, "
                "np_contact_ref = $9, np_city_ref = $10, np_address_ref = $11, "
                "np_phone = $12, updated_at = now()",
                e.code, e.name, e.edrpou, e.iban, e.tax_status.value, e.address,
                e.liqpay_public_key, e.nova_poshta.sender_ref, e.nova_poshta.contact_ref,
                e.nova_poshta.city_ref, e.nova_poshta.address_ref, e.nova_poshta.phone)
        except asyncpg.UniqueViolationError:
            raise invalid("entity.edrpou", "another entity has this EDRPOU code") from None

    async def entity(self, code: str, *, for_update: bool = False) -> Entity | None:
        row = await self.conn.fetchrow(
            f"SELECT {ENTITY_COLUMNS} FROM legal_entities WHERE code = $1"
            + (" FOR UPDATE" if for_update else ""), code)
        return None if row is None else _entity(row)

    async def entities(self) -> list[Entity]:
        rows = await self.conn.fetch(f"SELECT {ENTITY_COLUMNS} FROM legal_entities "
                                     "ORDER BY code")
        return [_entity(r) for r in rows]

    async def missing(self, table: str, key: str, values: Sequence[str]) -> list[str]:
        """Which of `values` are not keys of `table` (stores or products)."""
        found = await self.conn.fetch(f"SELECT {key} FROM {table} WHERE {key} = ANY($1)",
                                      list(values))
        have = {r[0] for r in found}
        return [v for v in values if v not in have]

    async def assign(self, entity_code: str, stores: Sequence[str], skus: Sequence[str]) -> None:
        await self.conn.execute(
            "INSERT INTO entity_stores (store_code, entity_code) SELECT unnest($1::text[]), $2 "
            "ON CONFLICT (store_code) DO UPDATE SET entity_code = EXCLUDED.entity_code",
            list(stores), entity_code)
        await self.conn.execute(
            "INSERT INTO entity_products (sku, entity_code) SELECT unnest($1::text[]), $2 "
            "ON CONFLICT (sku) DO UPDATE SET entity_code = EXCLUDED.entity_code",
            list(skus), entity_code)

    async def store_entity(self, store_code: str) -> str | None:
        value = await self.conn.fetchval(
            "SELECT entity_code FROM entity_stores WHERE store_code = $1", store_code)
        return None if value is None else str(value)

    async def product_entities(self, skus: Sequence[str]) -> dict[str, str]:
        rows = await self.conn.fetch(
            "SELECT sku, entity_code FROM entity_products WHERE sku = ANY($1)", list(skus))
        return {r["sku"]: r["entity_code"] for r in rows}

    # --- payments ---------------------------------------------------------------------

    async def payments_of(self, order_id: uuid.UUID) -> list[Payment]:
        rows = await self.conn.fetch(
            f"SELECT {PAYMENT_COLUMNS} FROM order_payments WHERE order_id = $1 "
            "ORDER BY entity_code, created_at, id", order_id)
        return [_payment(r) for r in rows]

    async def payment(self, payment_id: uuid.UUID, *, for_update: bool = False
                      ) -> Payment | None:
        row = await self.conn.fetchrow(
            f"SELECT {PAYMENT_COLUMNS} FROM order_payments WHERE id = $1"
            + (" FOR UPDATE" if for_update else ""), payment_id)
        return None if row is None else _payment(row)

    async def by_provider_order(self, provider_order_id: str) -> Payment | None:
        row = await self.conn.fetchrow(
            f"SELECT {PAYMENT_COLUMNS} FROM order_payments WHERE provider_order_id = $1 "
            "FOR UPDATE", provider_order_id)
        return None if row is None else _payment(row)

    async def add(self, p: Payment) -> None:
        await self.conn.execute(
            f"INSERT INTO order_payments ({PAYMENT_COLUMNS}) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            p.id, p.order_id, p.entity_code, p.method.value, p.amount_minor, p.currency,
            p.state.value, p.certificate_number, p.ledger_tx_id, p.provider,
            p.provider_order_id, p.provider_payment_id, p.provider_status, p.refunded_minor)

    async def save(self, p: Payment) -> None:
        await self.conn.execute(
            "UPDATE order_payments SET state = $2, ledger_tx_id = $3, provider = $4, "
            "provider_order_id = $5, provider_payment_id = $6, provider_status = $7, "
            "refunded_minor = $8, updated_at = now() WHERE id = $1",
            p.id, p.state.value, p.ledger_tx_id, p.provider, p.provider_order_id,
            p.provider_payment_id, p.provider_status, p.refunded_minor)

    async def pending_at_provider(self, older_than: dt.datetime, limit: int) -> list[Payment]:
        rows = await self.conn.fetch(
            f"SELECT {PAYMENT_COLUMNS} FROM order_payments "
            "WHERE state IN ('pending', 'cancelled') "
            "AND provider_order_id IS NOT NULL AND updated_at < $1 ORDER BY updated_at "
            "LIMIT $2", older_than, limit)
        return [_payment(r) for r in rows]

    async def touch(self, payment_id: uuid.UUID, now: dt.datetime) -> None:
        """Asked about just now: the status job asks the others first next time."""
        await self.conn.execute("UPDATE order_payments SET updated_at = $2 WHERE id = $1",
                                payment_id, now)

    async def remember_callback(self, digest: str, provider: str, provider_order_id: str,
                                status: str, outcome: str) -> bool:
        """True the first time this exact callback is seen; False for a replay."""
        done = await self.conn.fetchval(
            "INSERT INTO payment_callbacks (digest, provider, provider_order_id, status, "
            "outcome) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING "
            "RETURNING 1", digest, provider, provider_order_id[:255], status[:32], outcome)
        return done is not None

    # --- invoices ---------------------------------------------------------------------

    async def invoice_of(self, order_id: uuid.UUID, entity_code: str) -> StoredInvoice | None:
        row = await self.conn.fetchrow(
            f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE order_id = $1 AND entity_code = $2",
            order_id, entity_code)
        return None if row is None else StoredInvoice(**dict(row))

    async def invoice(self, invoice_id: uuid.UUID) -> StoredInvoice | None:
        row = await self.conn.fetchrow(
            f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1", invoice_id)
        return None if row is None else StoredInvoice(**dict(row))

    async def next_invoice_number(self, entity_code: str) -> int:
        """Take the entity's next number: its row stays locked until the transaction ends,
        so numbers are handed out one at a time and a rollback gives the number back."""
        return int(await self.conn.fetchval(
            "UPDATE legal_entities SET invoice_next = invoice_next + 1 WHERE code = $1 "
            "RETURNING invoice_next - 1", entity_code))

    async def add_invoice(self, invoice: StoredInvoice) -> None:
        await self.conn.execute(
            f"INSERT INTO invoices ({INVOICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            invoice.id, invoice.entity_code, invoice.number, invoice.order_id,
            invoice.total_minor, invoice.vat_minor, invoice.currency, invoice.pdf)

    async def member_contact(self, member_id: uuid.UUID) -> tuple[str, str | None]:
        """(full name, e-mail) of the order's member, for the invoice and its e-mail."""
        row = await self.conn.fetchrow(
            "SELECT first_name, last_name, email FROM members WHERE id = $1", member_id)
        if row is None:
            return "", None
        return f"{row['first_name']} {row['last_name']}".strip(), row["email"]

    # --- the ledger -------------------------------------------------------------------

    async def charge(self, p: Payment, member_id: uuid.UUID, store_code: str,
                     principal: str, now: dt.datetime) -> None:
        """Charge a ledger method now (the ledger's own primitives); a shortfall refuses
        the whole plan (INSUFFICIENT_POINTS / _FUNDS / CERTIFICATE_*)."""
        if p.method is Method.CERTIFICATE:
            assert p.certificate_number is not None
            await pay_with_certificate(self.session, number=p.certificate_number,
                                       amount_minor=p.amount_minor, receipt_id=p.id,
                                       store_code=store_code, currency=p.currency, now=now)
        else:
            tx_id = await new_tx(self.conn, "order_payment", reason=f"payment {p.id}",
                                 principal=principal)
            if p.method is Method.POINTS:
                await lock_points_accounts(self.conn, member_id)
                await spend_points(self.conn, member_id, p.amount_minor, tx_id, now)
            else:
                await pay_from_cash(self.conn, member_id, p.amount_minor, tx_id)
            p.ledger_tx_id = tx_id
        p.state = State.PAID

    async def give_back(self, p: Payment, amount: int, member_id: uuid.UUID,
                        principal: str, now: dt.datetime) -> None:
        """Refund a ledger payment to where it came from."""
        if p.method is Method.CERTIFICATE:
            assert p.certificate_number is not None
            await refund_to_certificate(self.session, number=p.certificate_number,
                                        amount_minor=amount, receipt_id=p.id, now=now)
            return
        tx_id = await new_tx(self.conn, "order_payment_refund", reason=f"payment {p.id}",
                             principal=principal)
        if p.method is Method.POINTS:
            await lock_points_accounts(self.conn, member_id)
            await accrue(self.conn, member_id, tx_id,
                         [Lot(amount, now, None, "order_payment_refund")], now)
        else:
            await credit_cash(self.conn, member_id, amount, tx_id)
