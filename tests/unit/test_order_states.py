"""The order state machine as a property: no sequence of actions reaches a state or a
transition docs/orders.md does not document, and a refused action changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import DomainError
from server.orders import actions, requests
from server.orders.model import LIVE, DeliveryKind, Line, LineState, Order, OrderState
from server.orders.states import ALLOWED, LEADS_TO, Action

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def new_order(n_lines: int) -> Order:
    return Order(uuid.uuid4(), "W-1", "web", uuid.uuid4(), None, OrderState.PLACED, 1, "uk",
                 DeliveryKind.PICKUP, "s1", None, "", "UAH",
                 lines=[Line(i, f"sku-{i}", 2000, 100) for i in range(1, n_lines + 1)])


STEP = st.tuples(st.sampled_from(list(Action)), st.integers(0, 8), st.integers(0, 3000),
                 st.sampled_from(list(requests.Answer)))


def apply(order: Order, step: tuple[Action, int, int, requests.Answer]) -> None:
    action, line_no, quantity, answer = step
    if action is Action.CONFIRM:
        actions.confirm(order)
    elif action is Action.CONFIRM_LINE:
        actions.confirm_line(order, line_no, "s2")
    elif action is Action.CANCEL:
        actions.cancel(order)
    elif action is Action.COMPLETE:
        actions.complete(order)
    elif action is Action.CHANGE_QUANTITY:
        actions.change_quantity(order, line_no, quantity)
    elif action is Action.REPLACE_LINE:
        actions.replace_line(order, line_no, "sku-x", quantity, 50)
    elif action is Action.SPLIT_LINE:
        actions.split_line(order, line_no, quantity)
    elif action is Action.CANCEL_LINE:
        actions.cancel_line(order, line_no)
    elif action is Action.RETURN_LINES:
        actions.return_lines(order, [(line_no, quantity)])
    elif action is Action.EXCHANGE:
        actions.exchange(order, [(line_no, quantity)], [("sku-y", 1000, 70)])
    elif action is Action.ASK_STORES:
        requests.ask(order, [("s2", [line_no])], 1, NOW, {"s2"})
    elif action is Action.STORE_ANSWER:
        line = order.line(line_no)
        asked = requests.StoreRequest(uuid.uuid4(), order.id, "s2", 1, NOW, lines=[
            requests.RequestedLine(line_no, line.quantity_milli if line else 1000)])
        given_answer = [requests.LineAnswer(line_no, answer, quantity, "why")]
        requests.check_answer(asked, given_answer, NOW - dt.timedelta(seconds=1))
        requests.apply_answer(order, asked, given_answer, NOW, "store")
    elif action is Action.ROUTE:
        expired = requests.StoreRequest(uuid.uuid4(), order.id, "s2", 1, NOW, lines=[
            requests.RequestedLine(line_no, 1000)])
        requests.route(order, expired, {}, {"s3": {f"sku-{line_no}": 10**6}}, (), 2, NOW)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 4), st.lists(STEP, max_size=25))
def test_no_sequence_of_actions_leaves_the_documented_machine(n_lines, steps) -> None:
    order = new_order(n_lines)
    for step in steps:
        before = copy.deepcopy(order)
        try:
            apply(order, step)
        except DomainError:
            assert order == before, f"{step[0]} refused but changed the order"
            continue
        assert step[0] in ALLOWED[before.state], f"{step[0]} ran in {before.state}"
        assert order.state in LEADS_TO[before.state] or order.state is before.state, \
            f"{before.state} -> {order.state} by {step[0]} is not documented"
        assert order.state in OrderState
        # what the states promise about the lines
        live = order.live_lines
        if order.state is OrderState.CONFIRMED:
            assert live and all(x.state is LineState.CONFIRMED for x in live)
        if order.state is OrderState.CANCELLED:
            assert not live
        if order.state is OrderState.RETURNED:
            assert not any(x.state is LineState.CONFIRMED for x in order.lines)
        for x in order.lines:
            assert 0 <= x.returned_milli <= x.quantity_milli and x.quantity_milli > 0
            if x.state is LineState.RETURNED:
                assert x.returned_milli == x.quantity_milli
        assert len({x.line_no for x in order.lines}) == len(order.lines)
    assert all(x.state in LIVE or x.state in LineState for x in order.lines)


def test_final_states_allow_nothing() -> None:
    assert ALLOWED[OrderState.CANCELLED] == ALLOWED[OrderState.RETURNED] == frozenset()
    assert LEADS_TO[OrderState.CANCELLED] == LEADS_TO[OrderState.RETURNED] == frozenset()
