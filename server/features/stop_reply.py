"""The STOP reply: an incoming SMS "STOP" (or "стоп") withdraws the sender's marketing consent
for SMS, through the same consent service as the RPC and the unsubscribe link."""

from __future__ import annotations

import logging

from server.audit.actor import Actor, acting
from server.db.database import Database
from server.db.ledger.repo import raw_connection
from server.db.marketing.repo import SqlConsentStore, member_by_phone
from server.marketing import consent as consent_service
from server.members.contacts import normalize_phone
from server.plugin_contracts import IncomingCallback, IncomingMessage

log = logging.getLogger("kopilka.marketing")
WORDING = "sms-stop-v1"


def incoming_handler(db: Database, region: str) -> IncomingCallback:
    """The callback channels give incoming messages to; raising asks for redelivery."""

    async def on_incoming(message: IncomingMessage) -> None:
        if not consent_service.is_stop(message.body):
            log.info("incoming %s message that is not a stop request ignored", message.channel)
            return
        try:
            phone = normalize_phone(message.sender, region)
        except ValueError:
            log.info("stop request from an address that is not a phone ignored")
            return
        channel = message.channel if message.channel in ("sms", "viber") else "sms"
        with acting(Actor(f"{channel}-stop-reply")):
            async with db.transaction() as session:
                conn = await raw_connection(session)
                member_id = await member_by_phone(conn, phone)
                if member_id is None:
                    log.info("stop request from a phone of no member")
                    return
                await consent_service.record(SqlConsentStore(conn), consent_service.answer(
                    member_id, channel, "marketing", False, "sms_stop", WORDING),
                    f"{channel}-stop-reply")
        log.info("marketing consent withdrawn by a stop reply", extra={
            "member_id": str(member_id), "channel": channel})

    return on_incoming
