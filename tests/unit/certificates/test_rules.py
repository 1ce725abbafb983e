"""Pure certificate rules: numbers, type checks, spend refusals, refund plans, printing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from server.certificates import rules
from server.certificates.model import (
    BarcodeFormat,
    CertificateInfo,
    CertificateKind,
    CertificateState,
    CertificateTypeInfo,
    ExpiredRefundPolicy,
    RemainderPolicy,
)
from server.certificates.numbers import certificate_number, is_valid_number, prefixes_overlap
from server.certificates.printing import barcode_svg, export_csv, format_minor, template_problem
from server.certificates.refunds import check_refund_amount, plan_refund
from server.certificates.validation import validate_type
from server.certificates.validity import effective_state, validity_window
from server.errors import DomainError

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
TYPE = CertificateTypeInfo(code="gift", name="Gift", kind=CertificateKind.MONEY, currency="UAH",
                           denominations=(50000, 100000), number_prefix="2100", valid_days=90)
CERT = CertificateInfo(id=1, number="2100000000012", type_code="gift",
                       kind=CertificateKind.MONEY, currency="UAH",
                       state=CertificateState.ACTIVE, denomination_minor=100000,
                       balance_minor=40000, remainder_policy=RemainderPolicy.KEEP,
                       expires_at=NOW + dt.timedelta(days=1))


def test_number_series():
    assert certificate_number(BarcodeFormat.EAN13, "2100", 1) == "2100000000012"
    assert is_valid_number(BarcodeFormat.EAN13, "2100000000012")
    assert not is_valid_number(BarcodeFormat.EAN13, "2100000000013")
    assert certificate_number(BarcodeFormat.CODE128, "GC", 42) == "GC0000000042"
    with pytest.raises(ValueError):
        certificate_number(BarcodeFormat.CODE128, "GC", 10**10)
    assert prefixes_overlap("21", "2100") and not prefixes_overlap("2100", "2101")


def test_type_validation_collects_every_field():
    with pytest.raises(DomainError) as caught:
        validate_type(dataclasses.replace(
            TYPE, kind=CertificateKind.PRODUCT, denominations=(1, 1), number_prefix="19",
            valid_days=5, valid_until=NOW, refund_extension_days=0))
    assert [v.field for v in caught.value.violations] == [
        "certificate_type.denominations_minor", "certificate_type.number_prefix",
        "certificate_type.valid_days", "certificate_type.refund_extension_days",
        "certificate_type.denominations_minor",
    ]
    validate_type(dataclasses.replace(TYPE, valid_days=0, valid_from=NOW,
                                      valid_until=NOW + dt.timedelta(days=1)))


def test_denomination_choice():
    assert rules.choose_denomination(TYPE, 50000, "d") == 50000
    single = dataclasses.replace(TYPE, denominations=(70000,))
    assert rules.choose_denomination(single, 0, "d") == 70000
    for t, requested in ((TYPE, 0), (TYPE, 123), (dataclasses.replace(TYPE, denominations=()), 0)):
        with pytest.raises(DomainError) as caught:
            rules.choose_denomination(t, requested, "d")
        assert caught.value.violations[0].field == "d"


def test_validity_and_effective_state():
    assert validity_window(TYPE, NOW) == (None, NOW + dt.timedelta(days=90))
    fixed = dataclasses.replace(TYPE, valid_days=0, valid_from=NOW,
                                valid_until=NOW + dt.timedelta(days=3))
    assert validity_window(fixed, NOW - dt.timedelta(days=9)) == (NOW, NOW + dt.timedelta(days=3))
    assert effective_state(CERT, NOW) is CertificateState.ACTIVE
    assert effective_state(CERT, NOW + dt.timedelta(days=1)) is CertificateState.EXPIRED


@pytest.mark.parametrize("change, amount, currency, reason", [
    ({"state": CertificateState.BLOCKED}, 1, "UAH", "CERTIFICATE_BLOCKED"),
    ({"state": CertificateState.NEW}, 1, "UAH", "CERTIFICATE_NOT_ACTIVE"),
    ({"expires_at": NOW}, 1, "UAH", "CERTIFICATE_EXPIRED"),
    ({"valid_from": NOW + dt.timedelta(hours=1)}, 1, "UAH", "CERTIFICATE_NOT_ACTIVE"),
    ({"kind": CertificateKind.PRODUCT}, 1, "UAH", "CERTIFICATE_KIND_MISMATCH"),
    ({}, 1, "EUR", "CERTIFICATE_CURRENCY_MISMATCH"),
    ({}, 40001, "UAH", "INSUFFICIENT_BALANCE"),
])
def test_spend_refusals(change, amount, currency, reason):
    cert = dataclasses.replace(CERT, **change)
    refusal = rules.spend_refusal(cert, kind=CertificateKind.MONEY, amount_minor=amount,
                                  currency=currency, now=NOW)
    assert refusal is not None and refusal.reason == reason
    assert rules.spend_refusal(CERT, kind=CertificateKind.MONEY, amount_minor=40000,
                               currency="UAH", now=NOW) is None


def test_refund_plans():
    used = dataclasses.replace(CERT, state=CertificateState.REDEEMED, balance_minor=0)
    plan = plan_refund(used, TYPE, 500, NOW)
    assert (plan.state, plan.balance_minor, plan.written_off_minor) == (
        CertificateState.ACTIVE, 500, 0)
    late = NOW + dt.timedelta(days=2)
    revived = plan_refund(used, TYPE, 500, late)
    assert revived.state is CertificateState.ACTIVE
    assert revived.expires_at == late + dt.timedelta(days=30)
    strict = dataclasses.replace(TYPE, expired_refund_policy=ExpiredRefundPolicy.FORFEIT)
    lost = plan_refund(used, strict, 500, late)
    assert (lost.state, lost.balance_minor, lost.written_off_minor) == (
        CertificateState.EXPIRED, 0, 500)
    blocked = plan_refund(dataclasses.replace(CERT, state=CertificateState.BLOCKED), TYPE, 5, NOW)
    assert (blocked.state, blocked.balance_minor) == (CertificateState.BLOCKED, 40005)
    check_refund_amount(CERT, 300, paid_minor=500, refunded_minor=200)
    with pytest.raises(DomainError):
        check_refund_amount(CERT, 301, paid_minor=500, refunded_minor=200)


def test_printing():
    assert format_minor(123456) == "1234.56" and format_minor(-5) == "-0.05"
    assert template_problem("{number} {bogus}") is not None
    assert template_problem("{") is not None and template_problem("{name} {number}") is None
    t = dataclasses.replace(TYPE, template="{name}: {denomination} {currency} to {expire_date}")
    text = export_csv([(t, CERT)]).splitlines()[1]
    assert text == "2100000000012,ean13,gift,active,1000.00,UAH,2026-05-02," \
        "Gift: 1000.00 UAH to 2026-05-02"
    svg = barcode_svg(t, CERT).decode()
    assert "<svg" in svg and "Gift: 1000.00 UAH" in svg
    with pytest.raises(ValueError):
        barcode_svg(t, dataclasses.replace(CERT, number="2100000000013"))
