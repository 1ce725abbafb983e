"""Limits on manual money: reason codes, four eyes above a threshold, per-role daily caps."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from kopilka.v1 import audit_pb2, bonus_pb2

from tests.e2e.certificates_helpers import rid
from tests.e2e.ledger_support import balance, new_member, setup_world
from tests.helpers import rpc_error

B = bonus_pb2
CORRECTION = B.ADJUSTMENT_REASON_CORRECTION


@pytest.fixture
def settings(tmp_path):
    from server.settings import Settings

    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        manual_points_approval_threshold=1000, manual_cash_approval_threshold_minor=5000,
        manual_daily_caps={"operator": {"points": 3000, "cash_minor": 20000}},
    )


def adjust(card: str, points: int, code: int = CORRECTION) -> B.AdjustPointsRequest:
    return B.AdjustPointsRequest(request_id=rid(), card_number=card, points=points,
                                 reason="complaint #12", reason_code=code)


def top_up(card: str, amount: int) -> B.TopUpCashAccountRequest:
    return B.TopUpCashAccountRequest(request_id=rid(), card_number=card, amount_minor=amount,
                                     reason="desk", reason_code=B.ADJUSTMENT_REASON_DEPOSIT)


async def actions(client, adjustment_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = await client.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="manual_adjustment", object_id=adjustment_id))
    return [e.action for e in reversed(page.entries)]


async def test_the_reason_code_is_required(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 1)
    for request in (adjust(member.card, 5, B.ADJUSTMENT_REASON_UNSPECIFIED),
                    top_up(member.card, 5)):
        if isinstance(request, B.TopUpCashAccountRequest):
            request.reason_code = B.ADJUSTMENT_REASON_UNSPECIFIED
            reply = admin.bonus.TopUpCashAccount(request)
        else:
            reply = admin.bonus.AdjustPoints(request)
        with rpc_error() as failure:
            await reply
        assert failure.fields == ["reason_code"]
    assert (await balance(admin, member)).points_available == 0


async def test_below_the_threshold_applies_at_once_above_it_waits(app, admin, make_key,
                                                                   client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    operator = client_for(await make_key("operator"))
    small = await operator.bonus.AdjustPoints(adjust(member.card, 1000))
    assert small.state == B.ADJUSTMENT_STATE_APPLIED and small.transaction_id
    assert small.points_balance == 1000

    big = await operator.bonus.AdjustPoints(adjust(member.card, 1500))
    assert big.state == B.ADJUSTMENT_STATE_PENDING_APPROVAL and not big.transaction_id
    assert big.points_balance == 1000
    assert (await balance(admin, member)).points_available == 1000
    pending = await admin.bonus.ListPendingAdjustments(B.ListPendingAdjustmentsRequest())
    [waiting] = pending.adjustments
    assert (waiting.adjustment_id, waiting.amount, waiting.reason_code) == (
        big.adjustment_id, 1500, CORRECTION)
    assert waiting.requested_by == "operator:test operator"

    cash = await operator.bonus.TopUpCashAccount(top_up(member.card, 6000))
    assert cash.state == B.ADJUSTMENT_STATE_PENDING_APPROVAL
    assert (await balance(admin, member)).cash_balance_minor == 0
    assert await actions(admin, big.adjustment_id) == ["request"]
    assert await actions(admin, small.adjustment_id) == ["apply"]


async def test_the_requester_cannot_approve_another_principal_applies_once(
        app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    asker = client_for(await make_key("admin"))
    big = await asker.bonus.AdjustPoints(adjust(member.card, 2500))
    approve = B.ApproveAdjustmentRequest(request_id=rid(), adjustment_id=big.adjustment_id)
    with rpc_error() as failure:
        await asker.bonus.ApproveAdjustment(approve)
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "APPROVAL_BY_REQUESTER")
    assert (await balance(admin, member)).points_available == 0

    second = client_for(await make_key("admin"))
    # two approvers at once, and a retry: the points land exactly once
    first, other = await asyncio.gather(
        admin.bonus.ApproveAdjustment(approve),
        second.bonus.ApproveAdjustment(B.ApproveAdjustmentRequest(
            request_id=rid(), adjustment_id=big.adjustment_id)),
        return_exceptions=True)
    done = [r for r in (first, other) if isinstance(r, B.ApproveAdjustmentResponse)]
    refused = [r for r in (first, other) if isinstance(r, grpc.aio.AioRpcError)]
    assert len(done) == 1 and len(refused) == 1
    assert refused[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    assert done[0].adjustment.state == B.ADJUSTMENT_STATE_APPLIED
    assert done[0].adjustment.transaction_id and done[0].balance == 2500
    if done[0] is first:
        assert await admin.bonus.ApproveAdjustment(approve) == first  # a retry: same answer
    assert (await balance(admin, member)).points_available == 2500
    with rpc_error() as failure:
        await second.bonus.RejectAdjustment(B.RejectAdjustmentRequest(
            request_id=rid(), adjustment_id=big.adjustment_id))
    assert failure.reason == "ADJUSTMENT_NOT_PENDING"
    assert await actions(admin, big.adjustment_id) == ["request", "approve"]
    assert not (await admin.bonus.ListPendingAdjustments(
        B.ListPendingAdjustmentsRequest())).adjustments


async def test_a_rejected_request_is_never_applied(app, admin, make_key, client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    operator = client_for(await make_key("operator"))
    big = await operator.bonus.TopUpCashAccount(top_up(member.card, 9000))
    rejected = await admin.bonus.RejectAdjustment(B.RejectAdjustmentRequest(
        request_id=rid(), adjustment_id=big.adjustment_id, reason="no receipt"))
    assert rejected.adjustment.state == B.ADJUSTMENT_STATE_REJECTED
    assert rejected.adjustment.decided_by == "operator:test admin"
    with rpc_error() as failure:
        await admin.bonus.ApproveAdjustment(B.ApproveAdjustmentRequest(
            request_id=rid(), adjustment_id=big.adjustment_id))
    assert failure.reason == "ADJUSTMENT_NOT_PENDING"
    assert (await balance(admin, member)).cash_balance_minor == 0
    assert await actions(admin, big.adjustment_id) == ["request", "reject"]
    page = await admin.audit.ListAudit(audit_pb2.ListAuditRequest(
        object_type="manual_adjustment", object_id=big.adjustment_id))
    assert json.loads(page.entries[0].after_json)["decision_note"] == "no receipt"
    with rpc_error() as failure:
        await admin.bonus.ApproveAdjustment(B.ApproveAdjustmentRequest(
            request_id=rid(), adjustment_id=rid()))
    assert failure.reason == "ADJUSTMENT_NOT_FOUND"
    with rpc_error() as failure:
        await operator.bonus.ApproveAdjustment(B.ApproveAdjustmentRequest(
            request_id=rid(), adjustment_id=big.adjustment_id))
    assert failure.reason == "PERMISSION_DENIED"  # operators ask, approvers decide


async def test_daily_caps_per_role_count_pending_but_not_rejected(app, admin, make_key,
                                                                 client_for):
    await setup_world(admin)
    member = await new_member(admin, 1)
    operator = client_for(await make_key("operator"))
    await operator.bonus.AdjustPoints(adjust(member.card, 1000))
    await operator.bonus.AdjustPoints(adjust(member.card, -500))  # deductions count too
    waiting = await operator.bonus.AdjustPoints(adjust(member.card, 1200))  # pending counts
    with rpc_error() as failure:
        await operator.bonus.AdjustPoints(adjust(member.card, 301))
    assert (failure.code, failure.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                              "DAILY_CAP_EXCEEDED")
    assert failure.metadata == {"kind": "points", "cap": "3000", "used": "2700"}
    await operator.bonus.AdjustPoints(adjust(member.card, 300))  # exactly at the cap
    await admin.bonus.RejectAdjustment(B.RejectAdjustmentRequest(
        request_id=rid(), adjustment_id=waiting.adjustment_id))
    await operator.bonus.AdjustPoints(adjust(member.card, 1000))  # the rejected 1200 is freed
    assert (await balance(admin, member)).points_available == 1800
    # cash has its own cap; another operator key has its own day; admin has no cap
    with rpc_error() as failure:
        await operator.bonus.TopUpCashAccount(top_up(member.card, 20001))
    assert failure.reason == "DAILY_CAP_EXCEEDED"
    other = client_for(await make_key("operator"))
    await other.bonus.AdjustPoints(adjust(member.card, 1000))
    for _ in range(4):
        await admin.bonus.AdjustPoints(adjust(member.card, 1000))
    assert (await balance(admin, member)).points_available == 6800
