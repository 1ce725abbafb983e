"""The console's catalogue: both languages have every key, and every enum word the order
pages look up (prefix + word) has a translation."""

from __future__ import annotations

from kopilka.v1 import marketing_pb2, orders_pb2, payments_pb2

from server.certificates.model import CertificateState, EntryKind
from server.console import i18n
from server.console.campaigns import DELIVERY
from server.console.orders import word


def test_both_languages_have_the_same_keys() -> None:
    assert set(i18n.MESSAGES["uk"]) == set(i18n.MESSAGES["en"])


def test_every_enum_word_is_translated() -> None:
    words = [("os_", orders_pb2.OrderState), ("ls_", orders_pb2.OrderLineState),
             ("rs_", orders_pb2.StoreRequestState), ("la_", orders_pb2.LineAnswerKind),
             ("dk_", orders_pb2.DeliveryKind), ("pm_", payments_pb2.OrderPaymentMethod),
             ("ps_", payments_pb2.PaymentState), ("cp_", marketing_pb2.CampaignState)]
    wanted = {prefix + word(enum, v) for prefix, enum in words for v in enum.values()
              if v or prefix == "la_"}  # an unanswered line shows; other zeros never do
    wanted |= {"ce_" + k.value for k in EntryKind} | {"cs_" + s.value for s in CertificateState}
    wanted |= {"ms_" + state for state in DELIVERY}
    wanted |= {"ps_unpaid"}  # OrderPayments.payment_state's words beyond PaymentState
    for lang in i18n.LANGUAGES:
        assert wanted - set(i18n.MESSAGES[lang]) == set(), lang


def test_word() -> None:
    assert word(orders_pb2.OrderState, orders_pb2.ORDER_STATE_PLACED) == "placed"
    assert word(payments_pb2.OrderPaymentMethod,
                payments_pb2.ORDER_PAYMENT_METHOD_CASH_ON_DELIVERY) == "cash_on_delivery"
