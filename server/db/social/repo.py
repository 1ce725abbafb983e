"""Social networks in PostgreSQL (asyncpg, in the caller's transaction): linked accounts,
actions stored once per provider event, rules and their rewards.

`record_actions` is the one path from a webhook to rewards: a new action (its event key
not seen before) is stored, matched to the member by (network, social id), and every rule it
could complete is checked; a reward row (unique per rule, member and occurrence) is written
before the points (the ledger's accrual, kopilka_accrue_points) or the coupon
(issue_coupons), so a redelivery or a race grants nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import asyncpg

from server.accounts.accrual import Lot
from server.db.audit.repo import Change, record_on
from server.db.engagement.coupons import issue_coupons
from server.db.ledger.repo import accrue, new_tx
from server.errors import DomainError, ErrorKind
from server.events.schema import new_event
from server.social.model import Action, Rule, applies, satisfied

_EMIT = "SELECT kopilka_emit_event($1, $2, $3::jsonb)"
_RULE_COLUMNS = ("code, name, network, post_id, kinds, window_minutes, points, "
                 "coupon_promotion_id, cap_count, cap_days, active")
_RULE_READ = _RULE_COLUMNS + ", updated_at, deleted_at"
COUPON_DAYS = 30


@dataclass(frozen=True)
class StoredAction:
    """An action as kept, with the member it was matched to (None: unknown sender)."""

    action: Action
    member_id: uuid.UUID | None
    received_at: dt.datetime


@dataclass(frozen=True)
class Reward:
    """A rule's outcome for a member: points, a coupon, or capped (nothing given)."""

    rule_code: str
    member_id: uuid.UUID
    occurrence: str
    outcome: str
    points: int
    coupon_id: uuid.UUID | None
    created_at: dt.datetime


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(row["code"], row["name"], row["network"], row["post_id"], tuple(row["kinds"]),
                row["window_minutes"], row["points"], row["coupon_promotion_id"],
                row["cap_count"], row["cap_days"], row["active"], row["updated_at"],
                row["deleted_at"])


# --- accounts --------------------------------------------------------------------------

async def account_owner(conn: asyncpg.Connection, network: str, social_id: str
                        ) -> uuid.UUID | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT member_id FROM social_accounts WHERE network = $1 AND social_id = $2",
        network, social_id)


async def link(conn: asyncpg.Connection, network: str, social_id: str,
               member_id: uuid.UUID) -> uuid.UUID:
    """Link (no-op when linked to this member already); the owner after: another member's
    id means the account is taken. Earlier unlinked actions of the account join the member."""
    owner = await conn.fetchval(
        "INSERT INTO social_accounts (network, social_id, member_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (network, social_id) DO UPDATE SET network = EXCLUDED.network "
        "RETURNING member_id", network, social_id, member_id)
    if owner == member_id:
        await conn.execute(
            "UPDATE social_actions SET member_id = $3 WHERE network = $1 AND social_id = $2 "
            "AND member_id IS NULL", network, social_id, member_id)
        await record_on(conn, Change("social_account", f"{network}:{social_id}", "link", None,
                                     {"member_id": member_id}))
    return owner  # type: ignore[no-any-return]


async def unlink(conn: asyncpg.Connection, network: str, social_id: str) -> uuid.UUID | None:
    """Unlink; the member it was linked to (None: it was not linked). Past actions stay on
    the member's record."""
    owner: uuid.UUID | None = await conn.fetchval(
        "DELETE FROM social_accounts WHERE network = $1 AND social_id = $2 RETURNING member_id",
        network, social_id)
    if owner is not None:
        await record_on(conn, Change("social_account", f"{network}:{social_id}", "unlink",
                                     {"member_id": owner}, None))
    return owner


async def accounts_of(conn: asyncpg.Connection, member_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await conn.fetch("SELECT network, social_id FROM social_accounts WHERE member_id = "
                            "$1 ORDER BY network, social_id", member_id)
    return [(r["network"], r["social_id"]) for r in rows]


# --- rules -----------------------------------------------------------------------------

async def save_rule(conn: asyncpg.Connection, rule: Rule) -> Rule:
    """Create or change a rule (audited); a deleted rule's code is refused."""
    found = await conn.fetchrow(f"SELECT {_RULE_COLUMNS}, deleted_at FROM social_rules "
                                "WHERE code = $1 FOR UPDATE", rule.code)
    if found is not None and found["deleted_at"] is not None:
        raise DomainError(ErrorKind.FAILED_PRECONDITION, "SOCIAL_RULE_DELETED",
                          f"rule {rule.code!r} was deleted; its outcomes still name it, so "
                          "give the new rule another code", metadata={"code": rule.code})
    before = None if found is None else {k: v for k, v in dict(found).items()
                                         if k != "deleted_at"}
    row = await conn.fetchrow(
        f"INSERT INTO social_rules ({_RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11) ON CONFLICT (code) DO UPDATE SET name = $2, network = $3, post_id = $4, "
        "kinds = $5, window_minutes = $6, points = $7, coupon_promotion_id = $8, "
        f"cap_count = $9, cap_days = $10, active = $11, updated_at = now() "
        f"RETURNING {_RULE_READ}", rule.code, rule.name, rule.network, rule.post_id,
        list(rule.kinds), rule.window_minutes, rule.points, rule.coupon_promotion_id,
        rule.cap_count, rule.cap_days, rule.active)
    assert row is not None
    saved = _rule(row)
    after = {k: v for k, v in dict(row).items() if k not in ("updated_at", "deleted_at")}
    await record_on(conn, Change("social_rule", rule.code, "update" if before else "create",
                                 before, after))
    return saved


async def rules(conn: asyncpg.Connection) -> list[Rule]:
    """The rules in force (not deleted), by code."""
    return [_rule(r) for r in await conn.fetch(
        f"SELECT {_RULE_READ} FROM social_rules WHERE deleted_at IS NULL ORDER BY code")]


async def list_rules(conn: asyncpg.Connection, *, network: str | None, show_deleted: bool,
                     after: str | None, limit: int) -> list[Rule]:
    """A page of rules by code (keyset: codes after `after`)."""
    rows = await conn.fetch(
        f"SELECT {_RULE_READ} FROM social_rules WHERE ($1::text IS NULL OR network = $1) "
        "AND ($2 OR deleted_at IS NULL) AND ($3::text IS NULL OR code > $3) "
        "ORDER BY code LIMIT $4", network, show_deleted, after, limit)
    return [_rule(r) for r in rows]


async def delete_rule(conn: asyncpg.Connection, code: str, deleted_by: str) -> Rule | None:
    """Mark the rule deleted and inactive (audited); None: no such rule, or deleted already.
    The row stays: its rewards keep naming it on members' records."""
    was_active = await conn.fetchval("SELECT active FROM social_rules WHERE code = $1 AND "
                                     "deleted_at IS NULL FOR UPDATE", code)
    if was_active is None:
        return None
    row = await conn.fetchrow(
        f"UPDATE social_rules SET deleted_at = now(), deleted_by = $2, active = false "
        f"WHERE code = $1 RETURNING {_RULE_READ}", code, deleted_by)
    assert row is not None  # locked above
    deleted = _rule(row)
    await record_on(conn, Change("social_rule", code, "delete", {"active": was_active},
                                 {"active": False, "deleted_at": deleted.deleted_at}))
    return deleted


# --- actions and rewards ---------------------------------------------------------------

async def record_actions(conn: asyncpg.Connection, actions: list[Action], now: dt.datetime
                         ) -> tuple[int, list[Reward]]:
    """Store the new actions and apply the rules; (actions new, rewards given now)."""
    fresh = 0
    given: list[Reward] = []
    active = [r for r in await rules(conn) if r.active]
    for action in actions:
        member_id = (await account_owner(conn, action.network, action.social_id)
                     if action.social_id else None)
        inserted = await conn.fetchval(
            "INSERT INTO social_actions (event_key, network, kind, social_id, member_id, "
            "post_id, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (event_key) DO NOTHING RETURNING id", action.event_key,
            action.network, action.kind, action.social_id, member_id, action.post_id,
            action.occurred_at)
        if inserted is None:
            continue  # a redelivery: stored and judged the first time
        fresh += 1
        if member_id is None:
            continue
        # one member's actions are judged one transaction at a time: a like and a comment
        # arriving in two concurrent deliveries still see each other, and the cap holds
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('social:' || $1::text))",
                           str(member_id))
        for rule in active:
            if applies(rule, action):
                reward = await _judge(conn, rule, member_id, action, now)
                if reward is not None:
                    given.append(reward)
    return fresh, given


async def _judge(conn: asyncpg.Connection, rule: Rule, member_id: uuid.UUID, action: Action,
                 now: dt.datetime) -> Reward | None:
    window = dt.timedelta(minutes=rule.window_minutes)
    seen = [(r["kind"], r["occurred_at"]) for r in await conn.fetch(
        "SELECT kind, occurred_at FROM social_actions WHERE member_id = $1 AND network = $2 "
        "AND post_id = $3 AND occurred_at BETWEEN $4 AND $5", member_id, action.network,
        action.post_id, action.occurred_at - window, action.occurred_at + window)]
    if not satisfied(rule, seen, action.occurred_at):
        return None
    occurrence = f"{action.network}:{action.post_id}"
    if await conn.fetchval("SELECT 1 FROM social_rewards WHERE rule_code = $1 AND "
                           "member_id = $2 AND occurrence = $3", rule.code, member_id,
                           occurrence):
        return None
    used = await conn.fetchval(
        "SELECT count(*) FROM social_rewards WHERE rule_code = $1 AND member_id = $2 "
        "AND outcome <> 'capped' AND created_at > $3", rule.code, member_id,
        now - dt.timedelta(days=rule.cap_days))
    outcome, points, coupon_id = "capped", 0, None
    if used < rule.cap_count:
        if rule.coupon_promotion_id:
            outcome = "coupon"
            coupon = (await issue_coupons(
                conn, count=1, promotion_id=rule.coupon_promotion_id, max_uses=1,
                valid_from=now, valid_to=now + dt.timedelta(days=COUPON_DAYS),
                member_id=member_id, batch_id=None, source="social",
                issued_by=f"social:{rule.code}"))[0]
            coupon_id = coupon.id
        elif rule.points > 0:
            outcome, points = "points", rule.points
            tx_id = await new_tx(conn, "social", reason=f"social rule {rule.code}",
                                 principal="meta-webhook")
            await accrue(conn, member_id, tx_id,
                         [Lot(points, now, None, f"social:{rule.code}"[:64])], now)
    created = await conn.fetchval(
        "INSERT INTO social_rewards (rule_code, member_id, occurrence, outcome, points, "
        "coupon_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at", rule.code,
        member_id, occurrence, outcome, points, coupon_id)
    reward = Reward(rule.code, member_id, occurrence, outcome, points, coupon_id, created)
    event = new_event("social.rewarded", member_id=member_id, rule_code=rule.code,
                      network=action.network, post_id=action.post_id, outcome=outcome,
                      points=points, coupon_id=coupon_id)
    await conn.execute(_EMIT, event.type, event.version, json.dumps(dict(event.payload)))
    return reward


async def activity(conn: asyncpg.Connection, member_id: uuid.UUID, limit: int
                   ) -> tuple[list[StoredAction], list[Reward]]:
    """The member's actions and rule outcomes, newest first."""
    acts = await conn.fetch(
        "SELECT event_key, network, kind, social_id, post_id, occurred_at, member_id, "
        "received_at FROM social_actions WHERE member_id = $1 "
        "ORDER BY occurred_at DESC, id DESC LIMIT $2", member_id, limit)
    rewards = await conn.fetch(
        "SELECT rule_code, member_id, occurrence, outcome, points, coupon_id, created_at "
        "FROM social_rewards WHERE member_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        member_id, limit)
    return ([StoredAction(Action(r["event_key"], r["network"], r["kind"], r["social_id"],
                                 r["post_id"], r["occurred_at"]), r["member_id"],
                          r["received_at"]) for r in acts],
            [Reward(r["rule_code"], r["member_id"], r["occurrence"], r["outcome"], r["points"],
                    r["coupon_id"], r["created_at"]) for r in rewards])
