"""The outbox's send gate for marketing messages (server/outbox/model.py SendGate).

Asked by the dispatcher right before each send: a campaign paused or cancelled, a trigger
stopped, consent withdrawn since queueing, the member's quiet hours (in their time zone) or
their frequency cap decide whether the message goes now, later, or never. A message the
gate lets go is stamped `released_at` under a per-member advisory lock, so two dispatchers
cannot both squeeze past the cap.
"""

from __future__ import annotations

import datetime as dt

from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.marketing.pacing import Pacing, cap_reached, quiet_until
from server.outbox.model import ClaimedMessage, GateDecision, GateVerdict

PAUSED_RETRY = dt.timedelta(seconds=60)
_SEND = GateDecision(GateVerdict.SEND)


class SqlSendGate:
    def __init__(self, db: Database, pacing: Pacing) -> None:
        self.db = db
        self.pacing = pacing

    async def check(self, item: ClaimedMessage, now: dt.datetime) -> GateDecision:
        async with self.db.transaction() as session:
            conn = await raw_connection(session)
            row = await conn.fetchrow("""
                SELECT mm.member_id, mm.purpose, mm.channel, mm.released_at, c.state,
                       f.stopped_at, mp.time_zone,
                       coalesce((SELECT granted FROM member_consents mc
                                 WHERE mc.member_id = mm.member_id AND mc.channel = mm.channel
                                   AND mc.purpose = mm.purpose), false) AS consent
                FROM marketing_messages mm
                LEFT JOIN campaigns c ON c.id = mm.campaign_id
                LEFT JOIN trigger_firings f ON f.id = mm.firing_id
                LEFT JOIN member_preferences mp ON mp.member_id = mm.member_id
                WHERE mm.mailing_id = $1""", item.mailing_id)
            if row is None:
                return _SEND  # not a marketing message: codes, receipts, ...
            if row["state"] == "cancelled":
                return GateDecision(GateVerdict.DROP, reason="campaign cancelled")
            if row["stopped_at"] is not None:
                return GateDecision(GateVerdict.DROP, reason="trigger stopped")
            if row["purpose"] == "marketing" and not row["consent"]:
                return GateDecision(GateVerdict.DROP, reason="no consent for the channel")
            if row["state"] == "paused":
                return GateDecision(GateVerdict.DEFER, now + PAUSED_RETRY, "campaign paused")
            if row["released_at"] is not None:
                return _SEND  # a retry of a message already counted
            until = quiet_until(now, row["time_zone"], self.pacing)
            if until is not None:
                return GateDecision(GateVerdict.DEFER, until, "quiet hours")
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1::text))",
                               str(row["member_id"]))
            recent = await conn.fetch("""
                SELECT released_at FROM marketing_messages WHERE member_id = $1
                  AND purpose = 'marketing' AND released_at > $2 ORDER BY released_at""",
                                      row["member_id"], now - dt.timedelta(days=1))
            if cap_reached(len(recent), self.pacing):
                oldest = recent[len(recent) - self.pacing.daily_cap]["released_at"]
                return GateDecision(GateVerdict.DEFER, oldest + dt.timedelta(days=1),
                                    "frequency cap")
            await conn.execute("UPDATE marketing_messages SET released_at = $2 "
                               "WHERE mailing_id = $1", item.mailing_id, now)
            return _SEND
