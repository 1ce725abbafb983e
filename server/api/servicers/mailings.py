"""MailingService: the mailing history (seed 000: what was sent, delivered and billed).

Operators answer "did the customer get the code?" and check the provider's bill from here;
recipients are personal data, so only operators and admins may list them.
"""

from __future__ import annotations

from kopilka.v1 import mailings_pb2 as pb
from kopilka.v1 import mailings_pb2_grpc

from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps
from server.api.paging import decode_token, encode_token, page_size
from server.db.outbox.repo import MailingFilter, MailingView, list_mailings
from server.errors import Violations
from server.members.contacts import normalize_email, normalize_phone

STATES = {
    "queued": pb.MAILING_STATE_QUEUED, "sent": pb.MAILING_STATE_SENT,
    "delivered": pb.MAILING_STATE_DELIVERED, "undeliverable": pb.MAILING_STATE_UNDELIVERABLE,
    "failed": pb.MAILING_STATE_FAILED,
}
STATE_NAMES = {v: k for k, v in STATES.items()}


def _recipient(raw: str, region: str, errors: Violations) -> str | None:
    """A phone in any notation matches its E.164 form; an address its normalized form."""
    if not raw.strip():
        return None
    try:
        return normalize_email(raw) if "@" in raw else normalize_phone(raw, region)
    except ValueError as exc:
        errors.add("recipient", f"{exc}; give a phone number or an e-mail address")
        return None


def mailing_filter(request: pb.ListMailingsRequest, region: str) -> MailingFilter:
    """The request's filters, every bad one reported at once; phones without a country
    code are read in `region` (KOPILKA_DEFAULT_REGION), as everywhere else."""
    errors = Violations()
    recipient = _recipient(request.recipient, region, errors)
    state = None
    if request.state:
        state = STATE_NAMES.get(request.state)
        if state is None:
            errors.add("state", "unknown state")
    since, until = time_field(request, "since", errors), time_field(request, "until", errors)
    if since and until and since >= until:
        errors.add("until", "must be after since")
    errors.raise_if_any()
    return MailingFilter(recipient=recipient, channel=request.channel.strip() or None,
                         state=state, since=since, until=until,
                         reference=request.reference or None)


def mailing_pb(view: MailingView) -> pb.Mailing:
    return pb.Mailing(
        mailing_id=str(view.id), channel=view.channel, recipient=view.recipient,
        subject=view.subject or "", body=view.body, reference=view.reference,
        state=STATES[view.state], attempts=view.attempts, last_error=view.last_error or "",
        delivery_error_code=view.delivery_error_code or "",
        provider_message_ids=list(view.provider_message_ids),
        create_time=timestamp(view.created_at), send_time=timestamp(view.sent_at),
        final_time=timestamp(view.final_at),
        hops=[pb.MailingHop(hop=h.hop, channel=h.channel, state=h.state, error=h.error or "",
                            send_time=timestamp(h.sent_at), final_time=timestamp(h.final_at))
              for h in view.hops],
    )


class MailingServicer(mailings_pb2_grpc.MailingServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def ListMailings(
        self, request: pb.ListMailingsRequest, context: Context
    ) -> pb.ListMailingsResponse:
        where = mailing_filter(request, self.deps.settings.default_region)
        limit = page_size(request.page.page_size)
        before = decode_token(request.page.page_token)
        async with self.deps.db.transaction() as session:
            rows = await list_mailings(session, where, before, limit + 1)
        response = pb.ListMailingsResponse(mailings=[mailing_pb(x) for x in rows[:limit]])
        if len(rows) > limit:
            last = rows[limit - 1]
            response.page.next_page_token = encode_token(last.created_at, last.id)
        return response
