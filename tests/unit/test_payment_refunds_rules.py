"""The pure refund rules (server/payments/refunds.py): what may be refunded, what cancelling
an order does to each payment, how intents of unknown outcome are settled."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server.errors import DomainError
from server.payments.plan import Method, Payment, State
from server.payments.refunds import (
    Origin,
    Refund,
    cancel_steps,
    check_request,
    record_done,
    settle_unknown,
)

ORDER = uuid.uuid4()


def payment(method: Method, state: State = State.PAID, amount: int = 1000,
            refunded: int = 0) -> Payment:
    return Payment(uuid.uuid4(), ORDER, "shop", method, amount, "UAH", state,
                   refunded_minor=refunded)


def intent(amount: int, minute: int) -> Refund:
    return Refund(uuid.uuid4(), uuid.uuid4(), ORDER, Origin.REFUND, amount, "x",
                  created_at=dt.datetime(2026, 1, 1, 10, minute, tzinfo=dt.UTC))


def test_what_is_left_counts_refunds_done_and_reserved() -> None:
    p = payment(Method.CARD, refunded=300)
    assert check_request(p, 0, 200) == 500  # 0: all that is left
    assert check_request(p, 500, 200) == 500
    with pytest.raises(DomainError) as refused:
        check_request(p, 501, 200)
    assert refused.value.violations[0].field == "amount_minor"
    with pytest.raises(DomainError):
        check_request(p, 0, 700)  # nothing left: all reserved
    with pytest.raises(DomainError) as state:
        check_request(payment(Method.CARD, State.PENDING), 0, 0)
    assert state.value.reason == "PAYMENT_STATE_CONFLICT"


def test_a_payment_refunded_in_full_is_reversed() -> None:
    p = payment(Method.CARD)
    record_done(p, 400)
    assert (p.refunded_minor, p.state) == (400, State.PAID)
    record_done(p, 600)
    assert (p.refunded_minor, p.state) == (1000, State.REVERSED)


def test_cancelling_gives_ledger_back_refunds_cards_and_cancels_checkouts() -> None:
    points, card = payment(Method.POINTS), payment(Method.CARD, refunded=100)
    unpaid, failed = payment(Method.INSTALLMENTS, State.PENDING), payment(Method.CARD,
                                                                          State.FAILED)
    cod_failed, reversed_ = payment(Method.CASH_ON_DELIVERY, State.FAILED), \
        payment(Method.CARD, State.REVERSED, refunded=1000)
    steps = {s.payment.id: s for s in cancel_steps(
        [points, card, unpaid, failed, cod_failed, reversed_], {card.id: 200})}
    assert steps[points.id].give_back == 1000 and not steps[points.id].refund
    assert steps[card.id].refund == 700  # less refunded and less reserved
    assert steps[unpaid.id].cancel and steps[failed.id].cancel
    assert cod_failed.id not in steps and reversed_.id not in steps


def test_unknown_intents_are_settled_oldest_first_from_the_provider_total() -> None:
    old, new = intent(300, 1), intent(500, 2)
    assert settle_unknown([new, old], 200, "success", 500) == [(old, True), (new, False)]
    assert settle_unknown([new, old], 200, "reversed", 1000) == [(old, True), (new, True)]
    assert settle_unknown([old], 0, "success", 0) == [(old, False)]
    assert settle_unknown([old], 0, "wait_reserve", 300) is None  # not final: ask later
