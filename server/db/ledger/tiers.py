"""Tier moves: members' purchases over the tier period, and the card type change with its
audit row and domain event, in the job step's transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.accrual_schema import Tiers
from server.db.audit.repo import Change, record
from server.db.outbox.repo import emit
from server.events.schema import new_event

_SPENT = text("""
SELECT c.number, c.card_type, c.member_id,
       coalesce((SELECT sum(r.total_minor) FROM receipts r
                  WHERE r.member_id = c.member_id
                    AND r.state NOT IN ('cancelled', 'refunded')
                    AND r.confirmed_at > :since AND r.confirmed_at <= :now), 0) AS spent
  FROM cards c
 WHERE c.state = 'active' AND c.member_id IS NOT NULL AND c.card_type = ANY(:types)
 ORDER BY c.number
""")


async def move_tiers(session: AsyncSession, tiers: Tiers, now: dt.datetime) -> int:
    """Move every active tier card to the level its member's purchases reach; each move is
    an audit row (`card` / `tier_move`) and a `member.tier_changed` event. The count."""
    since = now - dt.timedelta(days=tiers.period_days)
    rows = (await session.execute(_SPENT, {
        "since": since, "now": now, "types": [x.card_type for x in tiers.levels]})).all()
    moved = 0
    for number, current, member_id, spent in rows:
        target = tiers.level_for(int(spent))
        if target == current:
            continue
        await session.execute(text("UPDATE cards SET card_type = :t WHERE number = :n"),
                              {"t": target, "n": number})
        await record(session, Change("card", str(number), "tier_move",
                                     {"card_type": current},
                                     {"card_type": target, "spent_minor": int(spent),
                                      "period_days": tiers.period_days}))
        await emit(session, new_event(
            "member.tier_changed", member_id=member_id, card_number=str(number),
            from_card_type=current, to_card_type=target, spent_minor=int(spent),
            period_days=tiers.period_days, moved_at=now))
        moved += 1
    return moved
