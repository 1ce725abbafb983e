"""LiqPay's server-to-server callback on the HTTP site, and the status job's pass.

POST /payments/liqpay/callback takes LiqPay's `data` and `signature` form fields
(/work/shared/contracts/liqpay.md section 3): the signature is verified before `data` is
decoded, then the notice is applied (server/payments/notices.py) in one transaction with
its audit row. Refusals answer a clear reason and are logged once, changing nothing:
a wrong signature (403), malformed data (400), an unknown order (404), an amount that does
not match the payment (400), a replayed callback (409). A duplicate or out-of-order status
is acknowledged (200) and changes nothing. LiqPay's expected answer body is undocumented; 200
acknowledges. A success for a checkout whose order was cancelled (payment `cancelled`) is
taken and refunded at once (server/features/refunds.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from server.audit.actor import Actor, acting
from server.db.audit.repo import Change, record
from server.db.payments import refunds as refund_sql
from server.db.payments.repo import SqlPayments
from server.features import refunds as refund_flow
from server.features.http import HttpMount
from server.payments import notices
from server.payments.plan import Payment, State
from server.payments.refunds import Origin
from server.plugin_api import InvalidSignatureError, PaymentNotice, PaymentProvider

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.api.deps import ApiDeps
    from server.db.database import Database
    from server.plugin_host import PluginHost
    from server.settings import Settings

log = logging.getLogger("kopilka.payments")
PATH = "/payments/liqpay/callback"
CALLBACK = Actor("liqpay:callback")
STATUS_JOB = Actor("liqpay:status")
#: a payment pending this long without a callback is asked about by the jobs pass
STATUS_AFTER = dt.timedelta(minutes=10)
STATUS_BATCH = 100
#: what an expired invoice link shows (HTTP 410): ask the shop, IssueInvoices gives a new one
EXPIRED_PAGE = ("<!doctype html><html lang=\"uk\"><head><meta charset=\"utf-8\">"
                "<title>Посилання застаріло</title></head><body>"
                "<h1>Посилання на рахунок застаріло</h1>"
                "<p>Термін дії цього посилання минув. Зверніться до магазину, і вам "
                "надішлють нове посилання на рахунок.</p>"
                "<p lang=\"en\">This invoice link has expired. Please ask the shop for a "
                "new link.</p></body></html>")

ANSWERS = {
    notices.Outcome.MOVED: (200, "ok"),
    notices.Outcome.UNCHANGED: (200, "ok: nothing to change (duplicate or out of order)"),
    notices.Outcome.REPLAYED: (409, "refused: replayed callback, already processed"),
    notices.Outcome.UNKNOWN_ORDER: (404, "refused: unknown order_id"),
    notices.Outcome.AMOUNT_MISMATCH: (400, "refused: amount or currency does not match"),
}


def _audit(session: AsyncSession) -> notices.Audit:
    async def write(payment: Payment, before: State, via: str) -> None:
        await record(session, Change(
            "order_payment", str(payment.id), via, {"state": before.value},
            {"state": payment.state.value, "provider_status": payment.provider_status}))

    return write


async def apply_notice(db: Database, notice: PaymentNotice, via: str,
                       digest: str | None = None, provider: object = None,
                       now: dt.datetime | None = None) -> notices.Applied:
    """One transaction: the notice, the payment's move, the audit row. A cancelled
    checkout paid after all gets a refund intent in that transaction, sent after commit
    (the jobs pass sends it if this fails)."""
    now = now or dt.datetime.now(dt.UTC)
    async with db.transaction() as session:
        store = await SqlPayments.of(session)
        # an unknown order or a wrong amount is answered before anything is written
        applied = await notices.apply(store, _audit(session), notice, via, digest)
        late = None
        if applied.previous is State.CANCELLED and applied.state is State.PAID:
            payment = await store.payment(applied.payment_id, for_update=True) \
                if applied.payment_id else None
            assert payment is not None
            late = await refund_sql.open_refund(
                session, store, payment, payment.amount_minor, Origin.LATE_PAYMENT,
                "paid after its order was cancelled", None, CALLBACK.label, now)
    if late is not None:
        try:
            await refund_flow.send(db, refund_flow.refunder(provider), late.id, now)
        except Exception:  # the payment is recorded; the jobs pass sends the refund
            log.exception("refund not sent", extra={"refund_id": str(late.id)})
    return applied


def payments_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps
                   ) -> HttpMount | None:
    """The callback route, when the liqpay section is configured."""
    provider = plugins.payment_providers().get("liqpay")
    if provider is None:
        return None
    handler = _handler(provider, deps)

    def add_routes(root: web.Application) -> None:
        root.router.add_post(PATH, handler)

    return HttpMount("LiqPay callbacks", PATH, add_routes)


def _handler(provider: PaymentProvider, deps: ApiDeps
             ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def callback(request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            notice = provider.parse_callback(form)
        except InvalidSignatureError:
            log.warning("liqpay callback refused", extra={"reason": "signature"})
            return web.Response(status=403, text="refused: signature does not verify")
        except ValueError:
            log.warning("liqpay callback refused", extra={"reason": "malformed"})
            return web.Response(status=400, text="refused: data is not a LiqPay payload")
        digest = hashlib.sha256(form["data"].encode()).hexdigest()
        with acting(CALLBACK):
            applied = await apply_notice(deps.db, notice, "liqpay_callback", digest,
                                         provider, deps.clock())
        status, text = ANSWERS[applied.outcome]
        if status != 200:
            log.warning("liqpay callback refused", extra={"reason": applied.outcome.value})
        return web.Response(status=status, text=text)

    return callback


async def poll_statuses(db: Database, provider: PaymentProvider, now: dt.datetime) -> int:
    """Ask the provider about payments pending past STATUS_AFTER; the number moved."""
    async with db.transaction() as session:
        pending = await (await SqlPayments.of(session)).pending_at_provider(
            now - STATUS_AFTER, STATUS_BATCH)
    moved = 0
    for payment in pending:
        assert payment.provider_order_id is not None
        try:
            notice = await provider.fetch_status(payment.provider_order_id)
        except RuntimeError:  # unreachable or refused: the next pass asks again
            log.warning("liqpay status failed", extra={"payment_id": str(payment.id)})
            continue
        with acting(STATUS_JOB):
            applied = await apply_notice(db, notice, "liqpay_status", provider=provider,
                                         now=now)
        if applied.outcome is not notices.Outcome.MOVED:
            async with db.transaction() as session:  # still pending: others first next time
                await (await SqlPayments.of(session)).touch(payment.id, now)
        moved += applied.outcome is notices.Outcome.MOVED
    return moved


def invoices_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps
                   ) -> HttpMount | None:
    """GET /payments/invoices/{token}: the PDF an invoice's signed link names."""
    from server.api.servicers.payments import INVOICE_PATH, LinkExpired, PaymentServicer
    from server.errors import DomainError

    payments = PaymentServicer(deps)

    async def download(request: web.Request) -> web.Response:
        try:
            invoice = await payments.invoice_by_token(request.match_info["token"])
        except LinkExpired:
            return web.Response(status=410, text=EXPIRED_PAGE, content_type="text/html",
                                charset="utf-8", headers={"Cache-Control": "no-store"})
        except DomainError:
            return web.Response(status=403, text="invalid link")
        if invoice is None:
            return web.Response(status=404, text="no such invoice")
        name = payments.invoice_pb(invoice).number
        return web.Response(body=invoice.pdf, content_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"',
            "Cache-Control": "private, no-store"})

    def add_routes(root: web.Application) -> None:
        root.router.add_get(INVOICE_PATH + "{token}", download)

    return HttpMount("invoice downloads", INVOICE_PATH, add_routes)
