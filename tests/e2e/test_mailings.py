"""The mailing history over gRPC (MailingService): real server, PostgreSQL and SMSC."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import common_pb2
from kopilka.v1 import mailings_pb2 as ML

from server.auth.principal import PrincipalKind
from tests.e2e.verification_support import (
    code_in,
    mailing_of,
    register,
    send_by_card,
    server_settings,
    till,
    wait_mailing,
)
from tests.helpers import rpc_error


@pytest.fixture
def settings(tmp_path, smsc, overrides):
    return server_settings(tmp_path, smsc.port, **overrides)


@pytest.fixture
async def operator(make_key, client_for):
    return client_for(await make_key("operator", kind=PrincipalKind.OPERATOR))


def ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def test_history_is_newest_first_masked_and_follows_receipts(
        app, admin, world, make_key, client_for, smsc, operator):
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    first = await pos.verification.SendVerificationCode(send_by_card(card))
    await smsc.wait_for(lambda: len(smsc.submitted) >= 1)
    await wait_mailing(app, first.verification_id, "sent")
    second = await pos.verification.SendVerificationCode(send_by_card(card))
    await smsc.wait_for(lambda: len(smsc.submitted) >= 2)
    await wait_mailing(app, second.verification_id, "sent")
    await smsc.push_receipt(smsc.submitted[0].message_id, "DELIVRD")
    await wait_mailing(app, first.verification_id, "delivered")
    codes = [code_in(x.text) for x in smsc.submitted]

    listed = await operator.mailings.ListMailings(ML.ListMailingsRequest(
        recipient="067 123 45 67"))  # any notation finds the E.164 recipient
    newest, oldest = listed.mailings
    assert [x.reference for x in listed.mailings] == [
        f"verification:{second.verification_id}", f"verification:{first.verification_id}"]
    assert all(x.recipient == "+380671234567" and x.channel == "sms" for x in listed.mailings)
    for mailing, code in zip(listed.mailings, reversed(codes), strict=True):
        assert mailing.body and code not in mailing.body  # never the one-time code
    assert oldest.state == ML.MAILING_STATE_DELIVERED and oldest.HasField("final_time")
    assert newest.state == ML.MAILING_STATE_SENT and not newest.HasField("final_time")
    assert list(oldest.provider_message_ids) == [smsc.submitted[0].message_id]
    assert newest.attempts == 1 and newest.HasField("send_time")
    assert not listed.page.next_page_token

    delivered = await operator.mailings.ListMailings(ML.ListMailingsRequest(
        state=ML.MAILING_STATE_DELIVERED))
    assert [x.mailing_id for x in delivered.mailings] == [oldest.mailing_id]
    by_reference = await operator.mailings.ListMailings(ML.ListMailingsRequest(
        reference=f"verification:{second.verification_id}"))
    assert [x.mailing_id for x in by_reference.mailings] == [newest.mailing_id]
    assert not (await operator.mailings.ListMailings(ML.ListMailingsRequest(
        channel="email"))).mailings
    assert not (await operator.mailings.ListMailings(ML.ListMailingsRequest(
        recipient="+380501112233"))).mailings
    later = newest.create_time.ToDatetime(dt.UTC) + dt.timedelta(seconds=1)
    assert not (await operator.mailings.ListMailings(ML.ListMailingsRequest(
        since=ts(later)))).mailings
    window = await operator.mailings.ListMailings(ML.ListMailingsRequest(
        since=oldest.create_time, until=newest.create_time))
    assert [x.mailing_id for x in window.mailings] == [oldest.mailing_id]


async def test_a_code_still_queued_is_masked_too(
        app, admin, world, make_key, client_for, smsc, operator):
    await smsc.stop()  # the provider is down: the SMS waits in the outbox with its code
    card = (await register(admin)).cards[0].number
    pos = await till(make_key, client_for)
    sent = await pos.verification.SendVerificationCode(send_by_card(card))
    code = code_in((await mailing_of(app, sent.verification_id)).body)  # the raw stored text
    (queued,) = (await operator.mailings.ListMailings(ML.ListMailingsRequest())).mailings
    assert queued.state == ML.MAILING_STATE_QUEUED
    assert queued.body and code not in queued.body


async def test_pages_walk_the_whole_history_once(
        app, admin, world, make_key, client_for, smsc, operator):
    pos = await till(make_key, client_for)
    phones = ["067 123 45 61", "067 123 45 62", "067 123 45 63"]
    for phone in phones:
        card = (await register(admin, phone=phone)).cards[0].number
        await pos.verification.SendVerificationCode(send_by_card(card))
    seen, token = [], ""
    while True:
        page = await operator.mailings.ListMailings(ML.ListMailingsRequest(
            page=common_pb2.PageRequest(page_size=2, page_token=token)))
        seen += [x.recipient for x in page.mailings]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == ["+380671234563", "+380671234562", "+380671234561"]


async def test_only_operators_and_admins_see_recipients(
        app, admin, world, make_key, client_for, operator):
    pos = await till(make_key, client_for)
    with rpc_error() as failure:
        await pos.mailings.ListMailings(ML.ListMailingsRequest())
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert not (await admin.mailings.ListMailings(ML.ListMailingsRequest())).mailings


@pytest.mark.parametrize(("request_", "fields"), [
    (ML.ListMailingsRequest(recipient="call me"), ["recipient"]),
    (ML.ListMailingsRequest(recipient="a@b"), ["recipient"]),
    (ML.ListMailingsRequest(state=99), ["state"]),
    (ML.ListMailingsRequest(since=ts(dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
                            until=ts(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))), ["until"]),
    (ML.ListMailingsRequest(recipient="??", state=42), ["recipient", "state"]),
    (ML.ListMailingsRequest(since=Timestamp(seconds=2**40)), ["since"]),
    (ML.ListMailingsRequest(page=common_pb2.PageRequest(page_token="nope")),
     ["page.page_token"]),
    (ML.ListMailingsRequest(page=common_pb2.PageRequest(page_size=-1)), ["page.page_size"]),
])
async def test_bad_filters_name_their_fields(app, operator, request_, fields):
    with rpc_error() as failure:
        await operator.mailings.ListMailings(request_)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == fields
