"""Read-only queries of the operator console that no RPC answers yet: the name search with
keyset pages, a member's timeline (receipt lines, ledger, lots, messages) and the dashboard's
period totals. Each is one set-based statement on an index (migration 0021 adds the name
index); the console applies the caller's permissions and member view to what comes back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class NameHit:
    """One member found by name (ids and names only; the console loads the rest)."""

    member_id: uuid.UUID
    last_name: str
    first_name: str
    middle_name: str
    phone: str | None
    email: str | None
    vip: bool
    sort_key: str  # lower(last_name): the keyset position with member_id


# Prefix search on lower(last_name) in the C collation, so the btree index
# ix_members_name_lower (lower(last_name) COLLATE "C", id, lower(first_name) COLLATE "C")
# serves both the LIKE and the ORDER BY, and the first-name prefix is checked on the index
# tuples (migration 0036); the keyset (sort_key, id) continues after the last row of the
# previous page, and never starts before the prefix (`members_by_name`).
_BY_NAME = text("""
SELECT id, last_name, first_name, middle_name, phone, email, vip,
       lower(last_name) COLLATE "C" AS sort_key
FROM members
WHERE lower(last_name) COLLATE "C" LIKE :prefix
  AND lower(first_name) COLLATE "C" LIKE :first
  AND (:vip OR NOT vip)
  AND (lower(last_name) COLLATE "C", id) > (:after_key COLLATE "C", :after_id)
ORDER BY lower(last_name) COLLATE "C", id
LIMIT :limit
""")


def _like_prefix(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def members_by_name(session: AsyncSession, last: str, first: str, *, sees_vip: bool,
                          after: tuple[str, uuid.UUID] | None, limit: int) -> list[NameHit]:
    """Members whose last name starts with `last` (and first name with `first`)."""
    # The keyset bound is where the index scan starts: PostgreSQL takes the row comparison
    # as the scan's lower bound over the LIKE's, so an empty key would walk the index from
    # its first entry (0.5 s at a million members for "шев"). Start at the prefix at least
    # (Python's str order is code-point order, the C collation's).
    after_key, after_id = after or ("", uuid.UUID(int=0))
    if after_key < last.lower():
        after_key, after_id = last.lower(), uuid.UUID(int=0)
    rows = await session.execute(_BY_NAME, {
        "prefix": _like_prefix(last), "first": _like_prefix(first), "vip": sees_vip,
        "after_key": after_key, "after_id": after_id, "limit": limit})
    return [NameHit(r.id, r.last_name, r.first_name, r.middle_name, r.phone, r.email, r.vip,
                    r.sort_key) for r in rows]


async def receipt_lines(session: AsyncSession,
                        receipt_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The stored lines of the receipts (receipt_details), by receipt id."""
    if not receipt_ids:
        return {}
    rows = await session.execute(text(
        "SELECT receipt_id, lines FROM receipt_details WHERE receipt_id = ANY(:ids)"),
        {"ids": receipt_ids})
    return {r.receipt_id: list(r.lines) for r in rows}


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One entry on one of the member's accounts."""

    created_at: dt.datetime
    account: str  # points, points_pending, cash
    amount: int
    kind: str
    reason: str
    principal: str


async def balances(session: AsyncSession, member_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(text(
        "SELECT kind, balance FROM ledger_accounts WHERE member_id = :m"), {"m": member_id})
    return {r.kind: int(r.balance) for r in rows}


async def ledger_rows(session: AsyncSession, member_id: uuid.UUID,
                      limit: int) -> list[LedgerRow]:
    rows = await session.execute(text("""
        SELECT t.created_at, a.kind AS account, e.amount, t.kind, t.reason, t.principal
        FROM ledger_accounts a
        JOIN ledger_entries e ON e.account_id = a.id
        JOIN ledger_transactions t ON t.id = e.tx_id
        WHERE a.member_id = :m
        ORDER BY t.created_at DESC, e.id DESC
        LIMIT :limit"""), {"m": member_id, "limit": limit})
    return [LedgerRow(r.created_at, r.account, int(r.amount), r.kind, r.reason, r.principal)
            for r in rows]


@dataclass(frozen=True, slots=True)
class LotRow:
    """A lot of points: what is left of it and when it expires."""

    id: int
    rule_id: str
    points_initial: int
    points_left: int
    state: str
    activation_at: dt.datetime
    expiry_at: dt.datetime | None


async def lots(session: AsyncSession, member_id: uuid.UUID, limit: int) -> list[LotRow]:
    """The member's spendable lots, soonest to expire first (ix_point_lots_spendable)."""
    rows = await session.execute(text("""
        SELECT id, rule_id, points_initial, points_left, state, activation_at, expiry_at
        FROM point_lots WHERE member_id = :m AND state = 'active' AND points_left > 0
        ORDER BY expiry_at, activation_at, id LIMIT :limit"""),
        {"m": member_id, "limit": limit})
    return [LotRow(r.id, r.rule_id, int(r.points_initial), int(r.points_left), r.state,
                   r.activation_at, r.expiry_at) for r in rows]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message sent to the member, with its delivery state (the body as redacted)."""

    created_at: dt.datetime
    channel: str
    state: str
    body: str
    error: str


async def messages(session: AsyncSession, recipients: list[str],
                   limit: int) -> list[MessageRow]:
    if not recipients:
        return []
    rows = await session.execute(text("""
        SELECT created_at, channel, state, coalesce(redacted_body, body) AS body,
               coalesce(delivery_error_code, '') AS error
        FROM mailings WHERE recipient = ANY(:r)
        ORDER BY created_at DESC LIMIT :limit"""), {"r": recipients, "limit": limit})
    return [MessageRow(r.created_at, r.channel, r.state, r.body, r.error) for r in rows]


@dataclass(frozen=True, slots=True)
class CertificateUse:
    """A certificate entry on one of the member's receipts or order payments."""

    created_at: dt.datetime
    number: str
    type_code: str
    kind: str  # issue, redeem, refund, ... (the entry's kind)
    amount_minor: int
    balance_minor: int  # the certificate's balance now
    state: str  # the certificate's state now
    store_code: str


# Certificates are bearer money: a member's are those sold or spent on the member's receipts
# (certificate_entries.receipt_id) and those paying the member's online orders (an order
# payment's id stands for the receipt). Each source is read on its member index, newest
# first, then the entries by ix_certificate_entries_receipt_id.
_CERTIFICATES = text("""
WITH src AS (
  (SELECT id FROM receipts WHERE member_id = :m ORDER BY confirmed_at DESC LIMIT 500)
  UNION ALL
  (SELECT p.id FROM web_orders o JOIN order_payments p ON p.order_id = o.id
    WHERE o.member_id = :m AND p.certificate_number IS NOT NULL
    ORDER BY o.created_at DESC LIMIT 500))
SELECT e.created_at, c.number, c.type_code, e.kind, e.amount_minor, c.balance_minor,
       c.state, coalesce(e.store_code, '') AS store_code
FROM src JOIN certificate_entries e ON e.receipt_id = src.id
JOIN certificates c ON c.id = e.certificate_id
ORDER BY e.created_at DESC, e.id DESC LIMIT :limit
""")


async def member_certificates(session: AsyncSession, member_id: uuid.UUID,
                              limit: int) -> list[CertificateUse]:
    rows = await session.execute(_CERTIFICATES, {"m": member_id, "limit": limit})
    return [CertificateUse(r.created_at, r.number, r.type_code, r.kind, int(r.amount_minor),
                           int(r.balance_minor), r.state, r.store_code) for r in rows]


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One day of the dashboard's period."""

    day: dt.date
    sales_with_card: int
    sales_without_card: int
    discounts: int
    points_accrued: int
    points_spent: int
    sms: int


async def daily_totals(session: AsyncSession, start: dt.datetime,
                       end: dt.datetime) -> list[DayTotals]:
    """Per-day sums over [start, end): receipts by card or not, points in and out of the
    members' points accounts, SMS mailings. One range scan per table on its time index
    (ix_receipts_confirmed_at_id: migration 0022; ix_ledger_transactions_created_at: 0021)."""
    rows = await session.execute(text("""
        WITH days AS (
          SELECT d::date AS day FROM generate_series(CAST(:start AS timestamptz),
                 CAST(:end AS timestamptz) - interval '1 day', interval '1 day') d),
        sales AS (
          SELECT confirmed_at::date AS day,
                 sum(total_minor) FILTER (WHERE card_number IS NOT NULL) AS with_card,
                 sum(total_minor) FILTER (WHERE card_number IS NULL) AS without_card,
                 sum(discount_total_minor) AS discounts
          FROM receipts WHERE confirmed_at >= :start AND confirmed_at < :end GROUP BY 1),
        points AS (
          SELECT t.created_at::date AS day,
                 sum(e.amount) FILTER (WHERE e.amount > 0) AS accrued,
                 -sum(e.amount) FILTER (WHERE e.amount < 0) AS spent
          FROM ledger_transactions t
          JOIN ledger_entries e ON e.tx_id = t.id
          JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'points'
          WHERE t.created_at >= :start AND t.created_at < :end GROUP BY 1),
        sms AS (
          SELECT created_at::date AS day, count(*) AS n FROM mailings
          WHERE channel = 'sms' AND created_at >= :start AND created_at < :end GROUP BY 1)
        SELECT days.day, coalesce(s.with_card, 0) AS with_card,
               coalesce(s.without_card, 0) AS without_card,
               coalesce(s.discounts, 0) AS discounts, coalesce(p.accrued, 0) AS accrued,
               coalesce(p.spent, 0) AS spent, coalesce(m.n, 0) AS sms
        FROM days LEFT JOIN sales s USING (day) LEFT JOIN points p USING (day)
        LEFT JOIN sms m USING (day) ORDER BY days.day"""), {"start": start, "end": end})
    return [DayTotals(r.day, int(r.with_card), int(r.without_card), int(r.discounts),
                      int(r.accrued), int(r.spent), int(r.sms)) for r in rows]


@dataclass(frozen=True, slots=True)
class Liability:
    """What the program owes now: points held, points expiring soon, certificate balances."""

    points_outstanding: int
    points_expiring: int
    certificates_outstanding_minor: int
    certificates_active: int


async def liability(session: AsyncSession, now: dt.datetime,
                    expiring_before: dt.datetime) -> Liability:
    row = (await session.execute(text("""
        SELECT
          (SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind = 'points') AS pts,
          (SELECT coalesce(sum(points_left), 0) FROM point_lots
            WHERE state = 'active' AND points_left > 0 AND expiry_at IS NOT NULL
              AND expiry_at >= :now AND expiry_at < :soon) AS expiring,
          (SELECT coalesce(sum(balance_minor), 0) FROM certificates
            WHERE state = 'active') AS certs,
          (SELECT count(*) FROM certificates WHERE state = 'active') AS active"""),
        {"now": now, "soon": expiring_before})).one()
    return Liability(int(row.pts), int(row.expiring), int(row.certs), int(row.active))



@dataclass(frozen=True, slots=True)
class StoredBonusRules:
    """The active accrual rule set as the console shows and diffs it (canonical YAML)."""

    version: str
    document: str


@dataclass(frozen=True, slots=True)
class BonusRulesEntry:
    """One applied accrual rule set in the history."""

    version: str
    name: str
    rule_count: int
    applied_by: str
    applied_at: dt.datetime


async def active_bonus_rules(session: AsyncSession) -> StoredBonusRules | None:
    row = (await session.execute(text(
        "SELECT version, document FROM accrual_rule_sets ORDER BY id DESC LIMIT 1"))).first()
    if row is None:
        return None
    return StoredBonusRules(row.version, yaml.safe_dump(row.document, allow_unicode=True,
                                                        sort_keys=False))


async def bonus_rules_history(session: AsyncSession, limit: int) -> list[BonusRulesEntry]:
    rows = await session.execute(text("""
        SELECT version, jsonb_array_length(coalesce(document->'rules', '[]'::jsonb)) AS n,
               principal, applied_at
        FROM accrual_rule_sets ORDER BY id DESC LIMIT :limit"""), {"limit": limit})
    return [BonusRulesEntry(r.version, "", int(r.n), r.principal, r.applied_at) for r in rows]


async def points_by_rule(session: AsyncSession, start: dt.datetime,
                         end: dt.datetime) -> list[tuple[str, int]]:
    """Points accrued in the period per accrual rule (the lots keep their rule), largest
    first."""
    rows = await session.execute(text("""
        SELECT coalesce(nullif(l.rule_id, ''), '-') AS rule, sum(l.points_initial) AS points
        FROM ledger_transactions t JOIN point_lots l ON l.tx_id = t.id
        WHERE t.created_at >= :start AND t.created_at < :end
        GROUP BY 1 ORDER BY 2 DESC LIMIT 20"""), {"start": start, "end": end})
    return [(r.rule, int(r.points)) for r in rows]


@dataclass(frozen=True, slots=True)
class DiscountSplit:
    """The period's discounts (the dashboard's figure) by the rule that gave them: the
    largest rules, points paid, and what receipts did not record by rule (booked before
    receipts kept it, or imported); together they add up to the figure."""

    by_rule: list[tuple[str, int]]
    other_rules: int  # rules beyond the largest ones
    points: int
    unsplit: int


async def discounts_by_rule(session: AsyncSession, start: dt.datetime, end: dt.datetime,
                            top: int = 20) -> DiscountSplit:
    """Per rule, from each receipt line's `discounts` (receipt_details.lines), over the
    receipts of the same range scan as `daily_totals`."""
    rows = (await session.execute(text("""
        WITH r AS (
          SELECT r.id, r.discount_total_minor FROM receipts r
          WHERE r.confirmed_at >= :start AND r.confirmed_at < :end),
        split AS (
          SELECT x.key AS rule, sum(x.value::bigint) AS amount
          FROM r JOIN receipt_details d ON d.receipt_id = r.id
          CROSS JOIN LATERAL jsonb_array_elements(d.lines) AS l(v)
          CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(l.v->'discounts') = 'object'
                                             THEN l.v->'discounts' ELSE '{}'::jsonb END) AS x
          GROUP BY 1)
        SELECT rule, amount, NULL::bigint AS total, NULL::bigint AS points FROM split
        UNION ALL
        SELECT NULL, NULL, coalesce(sum(r.discount_total_minor), 0),
               coalesce(sum(d.points_redeemed), 0)
        FROM r LEFT JOIN receipt_details d ON d.receipt_id = r.id"""),
        {"start": start, "end": end})).all()
    rules = sorted(((r.rule, int(r.amount)) for r in rows if r.rule is not None),
                   key=lambda x: (-x[1], x[0]))
    [totals] = [r for r in rows if r.rule is None]
    split = sum(amount for _, amount in rules)
    points = int(totals.points)
    return DiscountSplit(rules[:top], sum(a for _, a in rules[top:]), points,
                         int(totals.total) - points - split)


async def bonus_rule_names(session: AsyncSession, ids: list[str],
                           back: int) -> dict[str, str]:
    """Rule id -> name of the given accrual rules in the last `back` accrual rule sets
    applied, the newest naming one winning (a rule renamed shows its latest name)."""
    rows = await session.execute(text("""
        SELECT DISTINCT ON (r->>'id') r->>'id' AS rule_id, r->>'name' AS name
        FROM (SELECT id, document FROM accrual_rule_sets ORDER BY id DESC LIMIT :back) s
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(s.document->'rules') = 'array'
                 THEN s.document->'rules' ELSE '[]'::jsonb END) r
        WHERE r->>'id' = ANY(:ids) AND coalesce(r->>'name', '') <> ''
        ORDER BY r->>'id', s.id DESC"""), {"ids": ids, "back": back})
    return {str(r.rule_id): str(r.name) for r in rows}


async def recent_rule_set_ids(session: AsyncSession, limit: int) -> list[int]:
    """The promotions rule sets applied last, newest first (ids only)."""
    rows = await session.execute(text(
        "SELECT id FROM rule_sets ORDER BY id DESC LIMIT :limit"), {"limit": limit})
    return [int(r.id) for r in rows]


async def rule_set_documents(session: AsyncSession,
                             ids: list[int]) -> list[tuple[int, str, str]]:
    """(id, document, format) of the given rule sets."""
    rows = await session.execute(text(
        "SELECT id, document, format FROM rule_sets WHERE id = ANY(:ids)"), {"ids": ids})
    return [(int(r.id), r.document, r.format) for r in rows]
