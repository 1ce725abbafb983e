"""PaymentService: legal entities, an order's payments per entity and method, LiqPay checkout
links and refunds. Every mutating call runs once per request_id (run_once) in one transaction
with its audit row; ledger methods are charged there through the one ledger. Orders are seen
through the caller's store scope (another store's order reads as ORDER_NOT_FOUND).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from kopilka.v1 import payments_pb2, payments_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.scope import may_act_on, session_networks
from server.api.servicers import payment_refunds
from server.api.servicers.payments_pb import METHODS, payment_pb
from server.db.audit.repo import Change, record
from server.db.orders.repo import SqlOrderRepository
from server.db.outbox.repo import enqueue_message
from server.db.payments import waybills as waybill_repo
from server.db.payments.repo import SqlPayments, StoredInvoice
from server.errors import DomainError, ErrorKind, Violations, echo, invalid, not_found
from server.orders.model import DeliveryKind, Order, OrderState
from server.payments import entities as ent
from server.payments import invoice_pdf, plan
from server.payments.plan import Method, Payment, State
from server.plugin_api import (
    PaymentCheckout,
    PaymentProvider,
    PaymentRequest,
    ShipmentRequest,
    TrackingInfo,
)

PB = payments_pb2
SERVICE = "/kopilka.v1.PaymentService/"
CALLBACK_PATH = "/payments/liqpay/callback"  # server/features/payments_http.py
PROVIDER = "liqpay"
SHIPPER = "novaposhta"
INVOICE_PATH = "/payments/invoices/"  # server/features/payments_http.py serves it
INVOICE_PURPOSE = "invoice_download"  # the signer's purpose label of download links

TAX = {PB.TAX_STATUS_VAT_PAYER: ent.TaxStatus.VAT_PAYER,
       PB.TAX_STATUS_NON_VAT: ent.TaxStatus.NON_VAT,
       PB.TAX_STATUS_SINGLE_TAX: ent.TaxStatus.SINGLE_TAX}
TAX_TO_PB = {v: k for k, v in TAX.items()}
PAYABLE = (OrderState.PLACED, OrderState.CONFIRMED)


class LinkExpired(Exception):
    """A genuine invoice link past its expiry (HTTP 410: IssueInvoices gives a new one)."""


@runtime_checkable
class InstallmentProvider(Protocol):
    """The installment hook: a provider that also sells in parts (LiqPay built in)."""

    name: str

    async def create_installment_checkout(self, request: PaymentRequest) -> PaymentCheckout:
        """A checkout offering only the provider's installment products."""


@runtime_checkable
class SplittingProvider(Protocol):
    """A provider crediting a payment to another shop (LiqPay ``split_rules``)."""

    async def create_split_checkout(self, request: PaymentRequest,
                                    receivers: Sequence[tuple[str, int]], *,
                                    installments: bool = False) -> PaymentCheckout:
        """A checkout whose amount goes to the receivers' shops."""

log = logging.getLogger("kopilka.payments")


@runtime_checkable
class WaybillProvider(Protocol):
    """A carrier making waybills from a given sender, with cash on delivery (Nova Poshta)."""

    async def create_waybill(self, request: ShipmentRequest, *,
                             sender: Mapping[str, str] | None = None,
                             cod_minor: int = 0) -> tuple[str, str]:
        """(number, provider ref) of a new waybill."""

    async def delete_waybill(self, ref: str) -> None:
        """Cancel a waybill."""

    async def track(self, tracking_numbers: Sequence[str]) -> list[TrackingInfo]:
        """Current state of several waybills."""


async def delete_unrecorded_waybills(shipper: WaybillProvider, refs: Sequence[str]) -> None:
    """Delete at the carrier the waybills a rolled-back transaction made; one that cannot be
    deleted is logged by its ref (no personal data) for the operator to cancel by hand."""
    for ref in refs:
        try:
            await shipper.delete_waybill(ref)
        except (RuntimeError, ValueError, OSError):
            log.error("a waybill of a failed CreateWaybills is left at the carrier",
                      extra={"waybill_ref": ref})


def waybill_pb(w: waybill_repo.Waybill) -> PB.Waybill:
    return PB.Waybill(waybill_id=str(w.id), entity_code=w.entity_code, number=w.number,
                      state=w.state, status_code=w.status_code, cod_minor=w.cod_minor)


def entity_pb(e: ent.Entity) -> PB.LegalEntity:
    np = e.nova_poshta
    return PB.LegalEntity(
        code=e.code, name=e.name, edrpou=e.edrpou, iban=e.iban,
        tax_status=TAX_TO_PB[e.tax_status], address=e.address,
        liqpay_public_key=e.liqpay_public_key,
        nova_poshta=PB.NovaPoshtaSender(sender_ref=np.sender_ref, contact_ref=np.contact_ref,
                                        city_ref=np.city_ref, address_ref=np.address_ref,
                                        phone=np.phone))


async def order_shares(pay: SqlPayments, order: Order) -> dict[str, int]:
    """The order's amount per entity (live lines; the product's entity, else the store's)."""
    live = order.live_lines
    products = await pay.product_entities(sorted({x.sku for x in live}))
    return plan.shares([(x.sku, x.final_amount) for x in live], products,
                       await pay.store_entity(order.store_code), order.store_code)


class PaymentServicer(payments_pb2_grpc.PaymentServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def _provider(self) -> PaymentProvider:
        provider = self.deps.plugins.payment_providers().get(PROVIDER)
        if provider is None:
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "PAYMENT_PROVIDER_NOT_CONFIGURED",
                              "card and installment payments need the liqpay plugin section")
        return provider

    async def _order(self, session: AsyncSession, order_id: uuid.UUID,
                     for_update: bool = False) -> tuple[SqlOrderRepository, Order]:
        repo = await SqlOrderRepository.of(session)
        order = await repo.get(order_id, for_update=for_update)
        if order is None or not await may_act_on(order.store_code, session_networks(session)):
            raise not_found("order", str(order_id), "ORDER_NOT_FOUND")
        return repo, order

    async def _picture(self, pay: SqlPayments, order: Order) -> PB.OrderPayments:
        payments = await pay.payments_of(order.id)
        try:
            shares = await order_shares(pay, order)
        except DomainError:  # not assigned yet: no shares to show
            shares = {}
        return PB.OrderPayments(
            order_id=str(order.id),
            shares=[PB.EntityShare(entity_code=k, amount_minor=v)
                    for k, v in sorted(shares.items())],
            payments=[payment_pb(p) for p in payments], payment_state=plan.overall(payments))

    async def _payment(self, pay: SqlPayments, session: AsyncSession, text_id: str
                       ) -> tuple[Payment, Order]:
        payment_id = parse_uuid(text_id, "payment_id")
        payment = await pay.payment(payment_id, for_update=True)
        if payment is None:
            raise not_found("payment", text_id, "PAYMENT_NOT_FOUND")
        try:
            _, order = await self._order(session, payment.order_id)
        except DomainError:
            raise not_found("payment", text_id, "PAYMENT_NOT_FOUND") from None
        return payment, order

    # --- entities ---------------------------------------------------------------------

    async def UpsertLegalEntity(self, request: PB.UpsertLegalEntityRequest,
                                context: Context) -> PB.UpsertLegalEntityResponse:
        e = request.entity
        tax = TAX.get(e.tax_status)
        if tax is None:
            raise invalid("entity.tax_status", "required: VAT payer, non-VAT or single tax")
        np = e.nova_poshta
        entity = ent.Entity(e.code.strip(), e.name.strip(), e.edrpou.strip(),
                            ent.normalize_iban(e.iban), tax, e.address.strip(),
                            e.liqpay_public_key.strip(),
                            ent.NovaPoshtaSender(np.sender_ref, np.contact_ref, np.city_ref,
                                                 np.address_ref, np.phone))
        ent.validate(entity)

        async def work(session: AsyncSession) -> PB.UpsertLegalEntityResponse:
            pay = await SqlPayments.of(session)
            before = await pay.entity(entity.code, for_update=True)
            await pay.upsert_entity(entity)
            await record(session, Change("legal_entity", entity.code, "upsert",
                                         None if before is None else entity_pb(before),
                                         entity_pb(entity)))
            return PB.UpsertLegalEntityResponse(entity=entity_pb(entity))

        return await run_once(self.deps.db, SERVICE + "UpsertLegalEntity", request,
                              PB.UpsertLegalEntityResponse, work)

    async def ListLegalEntities(self, request: PB.ListLegalEntitiesRequest,
                                context: Context) -> PB.ListLegalEntitiesResponse:
        async with self.deps.db.transaction() as session:
            pay = await SqlPayments.of(session)
            return PB.ListLegalEntitiesResponse(
                entities=[entity_pb(e) for e in await pay.entities()])

    async def AssignToEntity(self, request: PB.AssignToEntityRequest,
                             context: Context) -> PB.AssignToEntityResponse:
        if not request.store_codes and not request.skus:
            raise invalid("store_codes", "name stores or products (skus)")
        stores, skus = list(dict.fromkeys(request.store_codes)), list(dict.fromkeys(request.skus))

        async def work(session: AsyncSession) -> PB.AssignToEntityResponse:
            pay = await SqlPayments.of(session)
            if await pay.entity(request.entity_code) is None:
                raise invalid("entity_code", f"no legal entity {echo(request.entity_code)}",
                              "ENTITY_NOT_FOUND")
            errors = Violations()
            for code in await pay.missing("stores", "code", stores):
                errors.add(f"store_codes[{stores.index(code)}]", f"unknown store {echo(code)}")
            for sku in await pay.missing("products", "sku", skus):
                errors.add(f"skus[{skus.index(sku)}]", f"unknown SKU {echo(sku)}")
            errors.raise_if_any()
            await pay.assign(request.entity_code, stores, skus)
            await record(session, Change("legal_entity", request.entity_code, "assign", None,
                                         {"stores": stores, "skus": skus}))
            return PB.AssignToEntityResponse(stores=len(stores), products=len(skus))

        return await run_once(self.deps.db, SERVICE + "AssignToEntity", request,
                              PB.AssignToEntityResponse, work)

    # --- payments ---------------------------------------------------------------------

    async def SetOrderPayments(self, request: PB.SetOrderPaymentsRequest,
                               context: Context) -> PB.SetOrderPaymentsResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        new = [plan.NewPayment(METHODS.get(p.method), p.amount_minor, p.entity_code,
                               p.certificate_number) for p in request.payments]
        if any(p.method in plan.PROVIDER_METHODS for p in new):
            self._provider()
        now = self.deps.clock()

        async def work(session: AsyncSession) -> PB.SetOrderPaymentsResponse:
            repo, order = await self._order(session, order_id, for_update=True)
            if order.state not in PAYABLE:
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "ORDER_STATE_CONFLICT",
                                  f"order {order.id} is {order.state.value}: it can no longer "
                                  "be paid", metadata={"state": order.state.value,
                                                       "action": "set_payments"})
            pay = SqlPayments(session, repo.conn)
            if await pay.payments_of(order.id):
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "PAYMENTS_ALREADY_SET",
                                  f"order {order.id} has its payments already",
                                  metadata={"order_id": str(order.id)})
            checked = plan.check(new, await order_shares(pay, order), bool(order.card_number))
            who = caller().label
            for p in checked:
                assert p.method is not None  # check() refused a missing method
                payment = Payment(uuid.uuid4(), order.id, p.entity_code, p.method,
                                  p.amount_minor, order.currency,
                                  certificate_number=p.certificate_number or None)
                if p.method in plan.PROVIDER_METHODS:
                    payment.provider = PROVIDER
                    payment.provider_order_id = str(payment.id)
                if p.method in plan.LEDGER_METHODS:
                    await pay.charge(payment, order.member_id, order.store_code, who, now)
                await pay.add(payment)
            picture = await self._picture(pay, order)
            await record(session, Change("web_order", str(order.id), "set_payments", None,
                                         {"payments": [{"method": p.method.value if p.method
                                                        else "", "entity": p.entity_code,
                                                        "amount_minor": p.amount_minor}
                                                       for p in checked]}))
            return PB.SetOrderPaymentsResponse(payments=picture)

        return await run_once(self.deps.db, SERVICE + "SetOrderPayments", request,
                              PB.SetOrderPaymentsResponse, work)

    async def GetOrderPayments(self, request: PB.GetOrderPaymentsRequest,
                               context: Context) -> PB.GetOrderPaymentsResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        async with self.deps.db.transaction() as session:
            repo, order = await self._order(session, order_id)
            return PB.GetOrderPaymentsResponse(
                payments=await self._picture(SqlPayments(session, repo.conn), order))

    async def CreateCheckout(self, request: PB.CreateCheckoutRequest,
                             context: Context) -> PB.CreateCheckoutResponse:
        provider = self._provider()

        async def work(session: AsyncSession) -> PB.CreateCheckoutResponse:
            pay = await SqlPayments.of(session)
            payment, order = await self._payment(pay, session, request.payment_id)
            if payment.method not in plan.PROVIDER_METHODS:
                raise invalid("payment_id", "a checkout is for card or installment payments")
            if payment.state not in (State.PENDING, State.FAILED):
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "PAYMENT_STATE_CONFLICT",
                                  f"payment {payment.id} is {payment.state.value}",
                                  metadata={"state": payment.state.value})
            if payment.state is State.FAILED:  # a new attempt: LiqPay order ids are unique
                payment.provider_order_id = f"{payment.id}.{uuid.uuid4().hex[:8]}"
                payment.state = State.PENDING
                await pay.save(payment)
            entity = await pay.entity(payment.entity_code)
            assert entity is not None and payment.provider_order_id is not None
            base = self.deps.settings.orders_public_url.rstrip("/")
            req = PaymentRequest(
                payment.provider_order_id, payment.amount_minor, payment.currency,
                f"Замовлення {order.external_number}, {entity.name}",
                result_url=request.result_url or None,
                callback_url=f"{base}{CALLBACK_PATH}" if base else None)
            try:
                if entity.liqpay_public_key:  # the entity's own LiqPay shop gets the money
                    if not isinstance(provider, SplittingProvider):
                        raise DomainError(ErrorKind.FAILED_PRECONDITION,
                                          "PAYMENT_PROVIDER_NOT_CONFIGURED",
                                          "the payment provider cannot split payments")
                    checkout = await provider.create_split_checkout(
                        req, [(entity.liqpay_public_key, payment.amount_minor)],
                        installments=payment.method is Method.INSTALLMENTS)
                elif payment.method is Method.INSTALLMENTS:
                    if not isinstance(provider, InstallmentProvider):
                        raise DomainError(ErrorKind.FAILED_PRECONDITION,
                                          "PAYMENT_PROVIDER_NOT_CONFIGURED",
                                          "the payment provider sells no installments")
                    checkout = await provider.create_installment_checkout(req)
                else:
                    checkout = await provider.create_checkout(req)
            except ValueError as error:
                raise invalid("payment_id", str(error)) from None
            await record(session, Change("order_payment", str(payment.id), "checkout", None,
                                         {"provider_order_id": payment.provider_order_id}))
            return PB.CreateCheckoutResponse(
                url=checkout.url, data=checkout.form_fields.get("data", ""),
                signature=checkout.form_fields.get("signature", ""),
                provider_order_id=payment.provider_order_id)

        return await run_once(self.deps.db, SERVICE + "CreateCheckout", request,
                              PB.CreateCheckoutResponse, work)

    async def RefundPayment(self, request: PB.RefundPaymentRequest,
                            context: Context) -> PB.RefundPaymentResponse:
        """A refund intent, sent after commit (server/api/servicers/payment_refunds.py)."""
        return await payment_refunds.refund_payment(self.deps, request, self._payment,
                                                    PROVIDER)

    # --- invoices ---------------------------------------------------------------------

    def invoice_pb(self, inv: StoredInvoice) -> PB.Invoice:
        """The invoice with a download link signed for `invoice_link_days` from now."""
        expires = self.deps.clock() + dt.timedelta(days=self.deps.settings.invoice_link_days)
        token = self.deps.signer.sign(INVOICE_PURPOSE, {"i": str(inv.id),
                                                        "x": int(expires.timestamp())})
        base = self.deps.settings.orders_public_url.rstrip("/")
        return PB.Invoice(invoice_id=str(inv.id), entity_code=inv.entity_code,
                          number=invoice_pdf.invoice_number(inv.entity_code, inv.number),
                          sequence=inv.number, total_minor=inv.total_minor,
                          vat_minor=inv.vat_minor, currency=inv.currency,
                          download_url=f"{base}{INVOICE_PATH}{token}")

    async def IssueInvoices(self, request: PB.IssueInvoicesRequest,
                            context: Context) -> PB.IssueInvoicesResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        today = self.deps.clock().date()

        async def work(session: AsyncSession) -> PB.IssueInvoicesResponse:
            repo, order = await self._order(session, order_id, for_update=True)
            if order.state in (OrderState.CANCELLED, OrderState.RETURNED):
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "ORDER_STATE_CONFLICT",
                                  f"order {order.id} is {order.state.value}: no invoice",
                                  metadata={"state": order.state.value,
                                            "action": "issue_invoices"})
            pay = SqlPayments(session, repo.conn)
            live = order.live_lines
            by_product = await pay.product_entities(sorted({x.sku for x in live}))
            store_entity = await pay.store_entity(order.store_code)
            shares = await order_shares(pay, order)
            names = await repo.products(sorted({x.sku for x in live}))
            customer, email = await pay.member_contact(order.member_id)
            invoices = []
            for code in sorted(shares):
                stored = await pay.invoice_of(order.id, code)
                if stored is None:
                    entity = await pay.entity(code)
                    assert entity is not None  # a foreign key of the assignment
                    lines = [invoice_pdf.InvoiceLine(
                        names.get(x.sku, (x.sku, "", ""))[0] or x.sku, x.sku,
                        x.quantity_milli, x.unit_price, x.base_amount,
                        x.base_amount - x.final_amount, x.final_amount)
                        for x in live if (by_product.get(x.sku) or store_entity) == code]
                    number = await pay.next_invoice_number(code)
                    data = invoice_pdf.InvoiceData(
                        entity, number, today, order.external_number,
                        customer or (order.address.recipient_name if order.address else ""),
                        order.currency, lines)
                    assert data.total == shares[code]
                    stored = StoredInvoice(uuid.uuid4(), code, number, order.id, data.total,
                                           data.vat, order.currency, invoice_pdf.render(data))
                    await pay.add_invoice(stored)
                    await record(session, Change("invoice", str(stored.id), "issue", None, {
                        "entity": code, "number": number, "order_id": str(order.id),
                        "total_minor": data.total, "vat_minor": data.vat}))
                invoices.append(self.invoice_pb(stored))
            answer = PB.IssueInvoicesResponse(invoices=invoices)
            if request.send_email and email:
                links = "\n".join(f"{i.number}: {i.download_url}" for i in invoices)
                mailing = await enqueue_message(
                    session, channel="email", recipient=email,
                    subject=f"Рахунки до замовлення {order.external_number}",
                    text=f"Доброго дня! Рахунки до замовлення {order.external_number}:\n"
                         f"{links}\n", reference=f"invoices:{order.id}")
                answer.mailing_id = str(mailing)
            return answer

        answer = await run_once(self.deps.db, SERVICE + "IssueInvoices", request,
                                PB.IssueInvoicesResponse, work)
        if answer.mailing_id and self.deps.outbox is not None:
            self.deps.outbox.wake()
        return answer

    async def GetInvoicePdf(self, request: PB.GetInvoicePdfRequest,
                            context: Context) -> PB.GetInvoicePdfResponse:
        invoice_id = parse_uuid(request.invoice_id, "invoice_id")
        async with self.deps.db.transaction() as session:
            pay = await SqlPayments.of(session)
            inv = await pay.invoice(invoice_id)
            if inv is None:
                raise not_found("invoice", request.invoice_id, "INVOICE_NOT_FOUND")
            try:
                await self._order(session, inv.order_id)
            except DomainError:
                raise not_found("invoice", request.invoice_id, "INVOICE_NOT_FOUND") from None
        pb = self.invoice_pb(inv)
        return PB.GetInvoicePdfResponse(invoice=pb, pdf=inv.pdf, file_name=f"{pb.number}.pdf")

    async def invoice_by_token(self, token: str) -> StoredInvoice | None:
        """The invoice a genuine signed link names (TOKEN_INVALID if forged, LinkExpired
        past its expiry; a link without one, from before links expired, is expired)."""
        payload = self.deps.signer.verify(INVOICE_PURPOSE, token, "token")
        expires = payload.get("x")
        if not isinstance(expires, int) or self.deps.clock().timestamp() >= expires:
            raise LinkExpired
        async with self.deps.db.transaction() as session:
            return await (await SqlPayments.of(session)).invoice(uuid.UUID(str(payload["i"])))

    # --- waybills ---------------------------------------------------------------------

    def _shipper(self) -> WaybillProvider:
        provider = self.deps.plugins.shipment_providers().get(SHIPPER)
        if not isinstance(provider, WaybillProvider):
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "SHIPMENT_PROVIDER_NOT_CONFIGURED",
                              "waybills need the novaposhta plugin section")
        return provider

    async def CreateWaybills(self, request: PB.CreateWaybillsRequest,
                             context: Context) -> PB.CreateWaybillsResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        errors = Violations()
        if not request.city_ref:
            errors.add("city_ref", "required: the recipient's city Ref")
        if not request.warehouse_ref:
            errors.add("warehouse_ref", "required: the recipient's warehouse Ref")
        if request.weight_grams <= 0:
            errors.add("weight_grams", "must be > 0")
        errors.raise_if_any()
        shipper = self._shipper()
        made: list[str] = []  # provider refs of waybills made by this call's transaction

        async def work(session: AsyncSession) -> PB.CreateWaybillsResponse:
            repo, order = await self._order(session, order_id, for_update=True)
            address = order.address
            if order.state is not OrderState.CONFIRMED \
                    or order.delivery_kind is not DeliveryKind.NOVA_POSHTA \
                    or address is None or not address.recipient_name \
                    or not address.recipient_phone:
                raise DomainError(
                    ErrorKind.FAILED_PRECONDITION, "ORDER_NOT_READY",
                    f"order {order.id} is not ready to ship: it must be confirmed, delivered "
                    "by Nova Poshta and name its recipient and phone",
                    metadata={"state": order.state.value,
                              "delivery": order.delivery_kind.value})
            pay = SqlPayments(session, repo.conn)
            shares = await order_shares(pay, order)
            live = {w.entity_code for w in await waybill_repo.of_order(repo.conn, order.id)
                    if w.state != "deleted"}
            payments = await pay.payments_of(order.id)
            for code in sorted(set(shares) - live):
                entity = await pay.entity(code)
                assert entity is not None
                np = entity.nova_poshta
                if not np.complete:
                    raise DomainError(ErrorKind.FAILED_PRECONDITION, "SENDER_NOT_CONFIGURED",
                                      f"entity {code} has no complete Nova Poshta sender",
                                      metadata={"entity_code": code})
                cod = sum(p.amount_minor for p in payments if p.entity_code == code
                          and p.method is Method.CASH_ON_DELIVERY and p.state is State.PENDING)
                shipment = ShipmentRequest(
                    order.external_number, address.recipient_name, address.recipient_phone,
                    f"{request.city_ref}/{request.warehouse_ref}", shares[code],
                    order.currency, request.weight_grams)
                sender = {"sender_ref": np.sender_ref, "sender_contact_ref": np.contact_ref,
                          "sender_city_ref": np.city_ref,
                          "sender_address_ref": np.address_ref, "sender_phone": np.phone}
                try:
                    number, ref = await shipper.create_waybill(shipment, sender=sender,
                                                               cod_minor=cod)
                except ValueError as error:
                    field = "warehouse_ref" if "destination" in str(error) else "order_id"
                    raise invalid(field, str(error)) from None
                except RuntimeError as error:  # NovaPoshtaError: refused or unreachable
                    raise DomainError(ErrorKind.UNAVAILABLE, "SHIPMENT_PROVIDER_FAILED",
                                      f"no waybill was made: {error}") from None
                made.append(ref)
                w = waybill_repo.Waybill(uuid.uuid4(), order.id, code, number, ref,
                                         "created", "1", cod)
                await waybill_repo.add(repo.conn, w)
                await waybill_repo.changed(session, order, w, None, message=False)
            return PB.CreateWaybillsResponse(waybills=[
                waybill_pb(w) for w in await waybill_repo.of_order(repo.conn, order.id)
                if w.state != "deleted"])

        try:
            answer = await run_once(self.deps.db, SERVICE + "CreateWaybills", request,
                                    PB.CreateWaybillsResponse, work)
        except BaseException:
            # nothing of this call was kept (a later entity's waybill failed, or the commit
            # did): the waybills it made at Nova Poshta go too, or a retry would make them twice
            await delete_unrecorded_waybills(shipper, made)
            raise
        if self.deps.outbox is not None:
            self.deps.outbox.wake()
        return answer

    async def CancelWaybill(self, request: PB.CancelWaybillRequest,
                            context: Context) -> PB.CancelWaybillResponse:
        waybill_id = parse_uuid(request.waybill_id, "waybill_id")
        if not request.reason.strip():
            raise invalid("reason", "required: say why")
        shipper = self._shipper()

        async def work(session: AsyncSession) -> PB.CancelWaybillResponse:
            conn = (await SqlPayments.of(session)).conn
            w = await waybill_repo.get(conn, waybill_id, for_update=True)
            if w is None:
                raise not_found("waybill", request.waybill_id, "WAYBILL_NOT_FOUND")
            try:
                _, order = await self._order(session, w.order_id)
            except DomainError:
                raise not_found("waybill", request.waybill_id, "WAYBILL_NOT_FOUND") from None
            if w.state != "created":
                raise DomainError(ErrorKind.FAILED_PRECONDITION, "WAYBILL_STATE_CONFLICT",
                                  f"waybill {w.number} is {w.state}", metadata={"state": w.state})
            try:
                await shipper.delete_waybill(w.ref)
            except RuntimeError as error:
                raise DomainError(ErrorKind.UNAVAILABLE, "SHIPMENT_PROVIDER_FAILED",
                                  f"the waybill was not cancelled: {error}") from None
            w.state, w.status_code = "deleted", "2"
            await waybill_repo.save(conn, w)
            await waybill_repo.changed(session, order, w, "created", message=False)
            return PB.CancelWaybillResponse(waybill=waybill_pb(w))

        return await run_once(self.deps.db, SERVICE + "CancelWaybill", request,
                              PB.CancelWaybillResponse, work)

    async def ListWaybills(self, request: PB.ListWaybillsRequest,
                           context: Context) -> PB.ListWaybillsResponse:
        order_id = parse_uuid(request.order_id, "order_id")
        async with self.deps.db.transaction() as session:
            repo, order = await self._order(session, order_id)
            return PB.ListWaybillsResponse(waybills=[
                waybill_pb(w) for w in await waybill_repo.of_order(repo.conn, order.id)])
