"""LiqPay signing, amounts and status mapping: the parts that need no network."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.liqpay import LiqPayProvider, LiqPaySettings, amounts, signing
from plugins.liqpay.statuses import to_state
from server.plugin_api import InvalidSignatureError, PaymentState

GOLDEN_KEY = "a4825234f4bae72a0be04eafe9e8e2bada209255"
GOLDEN_JSON = ('{"public_key":"i00000000","version":"3","action":"pay","amount":"3",'
               '"currency":"UAH","description":"test","order_id":"000001"}')
GOLDEN_SIGNATURE = "wR+UZDC4jjeL/qUOvIsofIWpZh8="


def provider(**extra: str) -> LiqPayProvider:
    return LiqPayProvider(LiqPaySettings.from_mapping(
        {"public_key": "i00000000", "private_key": GOLDEN_KEY, **extra}))


def test_golden_vector_signs_the_exact_base64_string() -> None:
    data = base64.b64encode(GOLDEN_JSON.encode()).decode()
    assert signing.sign(GOLDEN_KEY, data) == GOLDEN_SIGNATURE


def test_our_encoding_reproduces_the_golden_data() -> None:
    params = {"public_key": "i00000000", "version": "3", "action": "pay", "amount": "3",
              "currency": "UAH", "description": "test", "order_id": "000001"}
    assert signing.envelope(GOLDEN_KEY, params) == {
        "data": base64.b64encode(GOLDEN_JSON.encode()).decode(),
        "signature": GOLDEN_SIGNATURE}


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (12345, "UAH", "123.45"), (1, "UAH", "0.01"), (10, "USD", "0.10"), (300, "EUR", "3.00"),
    (99_999_999_999_999_999, "UAH", "999999999999999.99")])
def test_amounts_render_exactly(minor: int, currency: str, text: str) -> None:
    assert amounts.render(minor, currency) == text


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "100"])
def test_unpayable_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="amount_minor"):
        amounts.render(bad, "UAH")  # type: ignore[arg-type]


def test_unsupported_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="currency 'XYZ'"):
        amounts.render(100, "XYZ")


@given(st.integers(min_value=1, max_value=10**18))
def test_amounts_round_trip_through_liqpay_json(minor: int) -> None:
    text = amounts.render(minor, "UAH")
    number = signing.json_loads(f'{{"amount": {text}}}')["amount"]  # as a JSON number
    assert amounts.parse(number, "UAH") == minor
    assert amounts.parse(text, "UAH") == minor


@pytest.mark.parametrize(("value", "minor"), [
    (Decimal("0.29"), 29), (Decimal("1234567.89"), 123456789), (3, 300), ("3.1", 310)])
def test_amounts_parse_without_float_error(value: object, minor: int) -> None:
    assert amounts.parse(value, "UAH") == minor


@pytest.mark.parametrize("bad", [Decimal("1.005"), "abc", None, 1.5, Decimal("NaN"), True])
def test_inexact_or_malformed_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        amounts.parse(bad, "UAH")


@pytest.mark.parametrize(("status", "sandbox", "state"), [
    ("success", False, PaymentState.SUCCEEDED), ("failure", False, PaymentState.FAILED),
    ("error", False, PaymentState.FAILED), ("reversed", False, PaymentState.REVERSED),
    ("sandbox", True, PaymentState.SUCCEEDED), ("sandbox", False, PaymentState.FAILED),
    ("wait_accept", False, PaymentState.PENDING), ("processing", False, PaymentState.PENDING),
    ("3ds_verify", False, PaymentState.PENDING), ("wait_secure", False, PaymentState.PENDING),
    ("something_new", False, PaymentState.PENDING)])
def test_status_mapping(status: str, sandbox: bool, state: PaymentState) -> None:
    assert to_state(status, sandbox_mode=sandbox) is state


def callback(status: str = "success", key: str = GOLDEN_KEY,
             amount: str = "10") -> dict[str, str]:
    """A LiqPay-style callback; ``amount`` goes in as a JSON *number*, as LiqPay sends it."""
    fields = {"payment_id": 165629, "action": "pay", "status": status, "version": 3,
              "public_key": "i00000000", "order_id": "A-1", "currency": "UAH"}
    text = json.dumps(fields, separators=(",", ":"))[:-1] + f',"amount":{amount}}}'
    data = base64.b64encode(text.encode()).decode()
    return {"data": data, "signature": signing.sign(key, data)}


def test_genuine_callback_is_decoded_with_exact_amount() -> None:
    form = callback(amount="1234567.89")  # becomes the JSON number 1234567.89
    assert '"amount":1234567.89' in base64.b64decode(form["data"]).decode()
    notice = provider().parse_callback(form)
    assert (notice.provider, notice.order_id, notice.state) == (
        "liqpay", "A-1", PaymentState.SUCCEEDED)
    assert (notice.provider_payment_id, notice.amount_minor, notice.currency) == (
        "165629", 123456789, "UAH")


def test_callback_signed_with_another_key_is_rejected() -> None:
    with pytest.raises(InvalidSignatureError):
        provider().parse_callback(callback(key="attacker-key", amount="10"))


def test_altered_callback_data_is_rejected() -> None:
    form = callback(status="failure", amount="10")
    forged = base64.b64decode(form["data"]).decode().replace("failure", "success")
    with pytest.raises(InvalidSignatureError):
        provider().parse_callback({"data": base64.b64encode(forged.encode()).decode(),
                                   "signature": form["signature"]})


@pytest.mark.parametrize("form", [{}, {"data": "abc"}, {"signature": GOLDEN_SIGNATURE},
                                  {"data": "", "signature": ""}])
def test_incomplete_callback_is_rejected(form: dict[str, str]) -> None:
    with pytest.raises(InvalidSignatureError):
        provider().parse_callback(form)


def test_signed_but_malformed_callback_is_an_error_not_a_payment() -> None:
    data = base64.b64encode(b'["not", "an", "object"]').decode()
    with pytest.raises(ValueError, match="not a JSON object"):
        provider().parse_callback({"data": data, "signature": signing.sign(GOLDEN_KEY, data)})


def test_checkout_params_follow_the_api_and_request_overrides_settings() -> None:
    from server.plugin_api import PaymentRequest
    p = provider(result_url="https://shop.test/thanks", server_url="https://shop.test/cb",
                 language="uk", sandbox="true")
    params = p.checkout_params(PaymentRequest(
        order_id="A-7", amount_minor=12345, currency="UAH", description="Сертифікат 123,45 грн",
        callback_url="https://shop.test/cb2"))
    assert params == {
        "public_key": "i00000000", "version": "3", "action": "pay", "amount": "123.45",
        "currency": "UAH", "description": "Сертифікат 123,45 грн", "order_id": "A-7",
        "result_url": "https://shop.test/thanks", "server_url": "https://shop.test/cb2",
        "language": "uk", "sandbox": "1"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("order_id", "", "order_id"), ("order_id", "x" * 256, "order_id"),
    ("description", "  ", "description"), ("amount_minor", 0, "amount_minor"),
    ("currency", "GBP", "currency")])
def test_bad_payment_requests_are_refused(field: str, value: object, message: str) -> None:
    from server.plugin_api import PaymentRequest
    fields: dict[str, object] = {"order_id": "A-1", "amount_minor": 100, "currency": "UAH",
                                 "description": "x"}
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        provider().checkout_params(PaymentRequest(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [{"public_key": "", "private_key": "k"},
                                 {"public_key": "p", "private_key": "k", "timeout": "0"},
                                 {"public_key": "p", "private_key": "k", "privat_key": "x"}])
def test_bad_settings_fail_loudly(raw: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        LiqPaySettings.from_mapping(raw)
