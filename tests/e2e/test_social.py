"""Social networks over real HTTP and gRPC: Meta's handshake, notifications signed as Meta
signs them (X-Hub-Signature-256 over the raw body), a forged or missing signature refused
with nothing recorded, a rule over a like and a comment on one post granting points once
(a redelivery grants nothing), caps, coupons, unknown senders kept unlinked, and the RPCs
through the generated client."""

from __future__ import annotations

import json
import time
import uuid

import aiohttp
import grpc
import pytest
import sqlalchemy as sa
from kopilka.v1 import social_pb2 as S

from server.features.meta_hooks import PATH, signature
from tests.e2e.ledger_support import balance, new_member, setup_world
from tests.helpers import rid, rpc_error
from tests.ports import idle_port

SECRET = "meta-app-secret"
TOKEN = "meatyhamhock"


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        grpc_listen="127.0.0.1:0", metrics_listen="127.0.0.1:0", data_dir=tmp_path,
        log_format="text", db_pool_size=5, api_key_cache_seconds=0.0,
        http_listen=f"127.0.0.1:{idle_port()}", meta_app_secret=SECRET,
        meta_verify_token=TOKEN)


def url(app) -> str:  # type: ignore[no-untyped-def]
    return f"http://127.0.0.1:{app.http.port}{PATH}"


async def deliver(app, payload: object, *, secret: str | None = SECRET,  # type: ignore[no-untyped-def]
                  tamper: bool = False) -> tuple[int, dict[str, object]]:
    """POST as Meta does: the raw body, signed with the app secret."""
    body = json.dumps(payload, ensure_ascii=True).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = signature(secret, body)
    if tamper:
        body = body.replace(b"comment", b"COMMENT")
    async with aiohttp.ClientSession() as http, http.post(url(app), data=body,
                                                           headers=headers) as reply:
        return reply.status, await reply.json()


def feed(*changes: dict[str, object]) -> dict[str, object]:
    return {"object": "page", "entry": [{"id": "PAGE1", "time": int(time.time()),
                                         "changes": [{"field": "feed", "value": v}
                                                     for v in changes]}]}


def reaction(sender: str, post: str, at: int | None = None) -> dict[str, object]:
    return {"item": "reaction", "verb": "add", "reaction_type": "like", "post_id": post,
            "from": {"id": sender, "name": "Someone"}, "created_time": at or int(time.time())}


def comment(sender: str, post: str, cid: str, at: int | None = None) -> dict[str, object]:
    return {"item": "comment", "verb": "add", "comment_id": cid, "post_id": post,
            "message": "nice", "from": {"id": sender, "name": "Someone"},
            "created_time": at or int(time.time())}


async def link(admin, member_id: str, network: int, social_id: str):  # type: ignore[no-untyped-def]
    return await admin.social.LinkSocialAccount(S.LinkSocialAccountRequest(
        request_id=str(uuid.uuid4()), member_id=member_id,
        account=S.SocialAccount(network=network, social_id=social_id)))


async def rule(admin, **fields):  # type: ignore[no-untyped-def]
    base = {"code": "like-and-comment", "name": "Like and comment", "network":
            S.SOCIAL_NETWORK_FACEBOOK, "post_id": "PAGE1_POST1",
            "kinds": [S.SOCIAL_ACTION_KIND_REACTION, S.SOCIAL_ACTION_KIND_COMMENT],
            "window_minutes": 60, "points": 150, "cap_count": 5, "cap_days": 30,
            "active": True}
    base.update(fields)
    return (await admin.social.UpsertSocialRule(S.UpsertSocialRuleRequest(
        request_id=str(uuid.uuid4()), rule=S.SocialRule(**base)))).rule


async def test_the_handshake_echoes_the_challenge_only_for_our_token(app):
    async with aiohttp.ClientSession() as http:
        async with http.get(url(app), params={"hub.mode": "subscribe", "hub.challenge":
                                              "1158201444", "hub.verify_token": TOKEN}) as r:
            assert (r.status, await r.text()) == (200, "1158201444")
        for params in ({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token":
                        "guess"}, {"hub.mode": "unsubscribe", "hub.challenge": "1",
                                   "hub.verify_token": TOKEN}, {}):
            async with http.get(url(app), params=params) as r:
                assert r.status == 403, params


async def test_like_and_comment_on_the_post_grant_points_once(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 31)
    linked = await link(admin, member.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-31")
    assert [a.social_id for a in linked.accounts] == ["PSID-31"]
    await rule(admin)
    like = feed(reaction("PSID-31", "PAGE1_POST1"))
    status, first = await deliver(app, like)
    assert status == 200 and first == {"actions": 1, "new": 1, "rewards": 0}
    assert (await balance(admin, member)).points_available == 0  # a like alone is not enough
    both = feed(comment("PSID-31", "PAGE1_POST1", "C-1"))
    status, second = await deliver(app, both)
    assert status == 200 and second["rewards"] == 1
    assert (await balance(admin, member)).points_available == 150
    for payload in (like, both):  # Meta redelivers: the same actions, nothing granted twice
        status, again = await deliver(app, payload)
        assert status == 200 and again["new"] == 0 and again["rewards"] == 0
    # a second comment on the same post is a new action but the same occurrence
    status, third = await deliver(app, feed(comment("PSID-31", "PAGE1_POST1", "C-2")))
    assert third == {"actions": 1, "new": 1, "rewards": 0}
    assert (await balance(admin, member)).points_available == 150
    record = await admin.social.ListSocialActivity(
        S.ListSocialActivityRequest(member_id=member.member_id))
    assert sorted(S.SocialActionKind.Name(a.kind) for a in record.actions) == [
        "SOCIAL_ACTION_KIND_COMMENT", "SOCIAL_ACTION_KIND_COMMENT",
        "SOCIAL_ACTION_KIND_REACTION"]
    assert [(w.rule_code, w.outcome, w.points, w.occurrence) for w in record.rewards] == [
        ("like-and-comment", "points", 150, "facebook:PAGE1_POST1")]
    async with app.db.transaction() as session:
        events = (await session.execute(sa.text(
            "SELECT payload->>'member_id', payload->>'outcome', payload->>'points' FROM outbox "
            "WHERE event_type = 'social.rewarded'"))).all()
    assert [tuple(e) for e in events] == [(member.member_id, "points", "150")]


async def test_actions_outside_the_window_or_on_another_post_do_not_count(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 32)
    await link(admin, member.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-32")
    await rule(admin, window_minutes=10)
    old = int(time.time()) - 3600
    await deliver(app, feed(reaction("PSID-32", "PAGE1_POST1", old)))
    _, late = await deliver(app, feed(comment("PSID-32", "PAGE1_POST1", "C-32")))
    assert late["rewards"] == 0
    _, other = await deliver(app, feed(reaction("PSID-32", "PAGE1_POST2"),
                                       comment("PSID-32", "PAGE1_POST2", "C-33")))
    assert other == {"actions": 2, "new": 2, "rewards": 0}
    assert (await balance(admin, member)).points_available == 0


async def test_the_cap_per_member_and_coupon_responses(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 33)
    await link(admin, member.member_id, S.SOCIAL_NETWORK_INSTAGRAM, "IGSID-33")
    await rule(admin, code="ig-comment", network=S.SOCIAL_NETWORK_INSTAGRAM, post_id="",
               kinds=[S.SOCIAL_ACTION_KIND_COMMENT], points=0,
               coupon_promotion_id="spring-coupon", cap_count=2, cap_days=7)
    for n in range(3):
        status, reply = await deliver(app, {"object": "instagram", "entry": [{
            "id": "IGACC", "time": int(time.time()), "changes": [{"field": "comments", "value": {
                "id": f"IGC-{n}", "from": {"id": "IGSID-33", "username": "m33"},
                "text": "love it", "media": {"id": f"MEDIA-{n}",
                                             "media_product_type": "FEED"}}}]}]})
        assert status == 200 and reply["rewards"] == 1
    record = await admin.social.ListSocialActivity(
        S.ListSocialActivityRequest(member_id=member.member_id))
    outcomes = sorted(w.outcome for w in record.rewards)
    assert outcomes == ["capped", "coupon", "coupon"]
    from kopilka.v1 import coupons_pb2 as C

    coupons = await admin.coupons.ListCoupons(C.ListCouponsRequest(
        member_id=member.member_id))
    assert len(coupons.coupons) == 2
    assert {c.source for c in coupons.coupons} == {"social"}
    given = [w.coupon_id for w in record.rewards if w.outcome == "coupon"]
    async with app.db.transaction() as session:
        mine = (await session.execute(sa.text(
            "SELECT id::text FROM coupons WHERE member_id = CAST(:m AS uuid)"),
            {"m": member.member_id})).scalars().all()
    assert sorted(given) == sorted(mine) and len(set(given)) == 2


async def test_forged_or_missing_signatures_record_nothing(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 34)
    await link(admin, member.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-34")
    await rule(admin)
    payload = feed(reaction("PSID-34", "PAGE1_POST1"), comment("PSID-34", "PAGE1_POST1", "C-4"))
    for kwargs in ({"secret": "guess"}, {"secret": None}, {"tamper": True}):
        status, _ = await deliver(app, payload, **kwargs)  # type: ignore[arg-type]
        assert status == 403, kwargs
    record = await admin.social.ListSocialActivity(
        S.ListSocialActivityRequest(member_id=member.member_id))
    assert list(record.actions) == [] and list(record.rewards) == []
    assert (await balance(admin, member)).points_available == 0


async def test_unknown_senders_are_kept_unlinked_and_join_when_linked(app, admin):
    await setup_world(admin)
    member = await new_member(admin, 35)
    _, reply = await deliver(app, feed(reaction("PSID-35", "PAGE1_POST9")))
    assert reply == {"actions": 1, "new": 1, "rewards": 0}
    _, mention = await deliver(app, {"object": "instagram", "entry": [{
        "id": "IGACC", "time": int(time.time()), "changes": [{"field": "mentions", "value": {
            "media_id": "M-9", "comment_id": "MC-9"}}]}]})
    assert mention["new"] == 1
    await link(admin, member.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-35")
    record = await admin.social.ListSocialActivity(
        S.ListSocialActivityRequest(member_id=member.member_id))
    assert [(a.social_id, a.post_id) for a in record.actions] == [("PSID-35", "PAGE1_POST9")]


async def test_link_unlink_and_bad_input(app, admin):
    await setup_world(admin)
    one, two = await new_member(admin, 36), await new_member(admin, 37)
    await link(admin, one.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-36")
    await link(admin, one.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-36")  # again: no-op
    with rpc_error() as failure:
        await link(admin, two.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-36")
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "SOCIAL_ACCOUNT_TAKEN")
    request = S.UnlinkSocialAccountRequest(request_id=str(uuid.uuid4()), account=S.SocialAccount(
        network=S.SOCIAL_NETWORK_FACEBOOK, social_id="PSID-36"))
    gone = await admin.social.UnlinkSocialAccount(request)
    assert gone.member_id == one.member_id
    assert (await admin.social.UnlinkSocialAccount(request)).member_id == one.member_id  # retry
    with rpc_error() as failure:
        await admin.social.UnlinkSocialAccount(S.UnlinkSocialAccountRequest(
            request_id=str(uuid.uuid4()), account=request.account))
    assert failure.reason == "SOCIAL_ACCOUNT_NOT_LINKED"
    await link(admin, two.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-36")  # free again
    with rpc_error() as failure:
        await link(admin, one.member_id, S.SOCIAL_NETWORK_UNSPECIFIED, "x")
    assert failure.fields == ["account.network"]
    for fields, path in (({"network": S.SOCIAL_NETWORK_INSTAGRAM}, "rule.kinds"),
                         ({"kinds": []}, "rule.kinds"), ({"window_minutes": 0},
                                                         "rule.window_minutes"),
                         ({"points": 0}, "rule.points"), ({"code": ""}, "rule.code")):
        with rpc_error() as failure:
            await rule(admin, **fields)
        assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                  [path]), fields


async def test_out_of_order_and_concurrent_deliveries_grant_exactly_once(app, admin):
    import asyncio

    await setup_world(admin)
    late, racing = await new_member(admin, 38), await new_member(admin, 39)
    await link(admin, late.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-38")
    await link(admin, racing.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-39")
    await rule(admin, window_minutes=10)
    now = int(time.time())
    # the comment is delivered first, the earlier like after it: still within 10 minutes
    await deliver(app, feed(comment("PSID-38", "PAGE1_POST1", "C-38", now)))
    _, reply = await deliver(app, feed(reaction("PSID-38", "PAGE1_POST1", now - 300)))
    assert reply["rewards"] == 1
    replies = await asyncio.gather(*(deliver(app, feed(v)) for v in (
        reaction("PSID-39", "PAGE1_POST1"), comment("PSID-39", "PAGE1_POST1", "C-39"),
        comment("PSID-39", "PAGE1_POST1", "C-40"))))
    assert sum(int(r["rewards"]) for _, r in replies) == 1
    for member in (late, racing):
        assert (await balance(admin, member)).points_available == 150


async def test_rules_are_listed_by_page_and_a_deleted_rule_stops_but_its_outcomes_stay(
        app, admin):
    await setup_world(admin)
    member = await new_member(admin, 38)
    await link(admin, member.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-38")
    await rule(admin, code="a-like-and-comment")
    await rule(admin, code="b-other-post", post_id="PAGE1_POST2")
    await rule(admin, code="c-ig", network=S.SOCIAL_NETWORK_INSTAGRAM, post_id="",
               kinds=[S.SOCIAL_ACTION_KIND_COMMENT])
    first = await admin.social.ListSocialRules(S.ListSocialRulesRequest(page_size=2))
    assert [r.code for r in first.rules] == ["a-like-and-comment", "b-other-post"]
    assert first.next_page_token and all(r.update_time.seconds for r in first.rules)
    rest = await admin.social.ListSocialRules(S.ListSocialRulesRequest(
        page_size=2, page_token=first.next_page_token))
    assert [r.code for r in rest.rules] == ["c-ig"] and rest.next_page_token == ""
    ig = await admin.social.ListSocialRules(S.ListSocialRulesRequest(
        network=S.SOCIAL_NETWORK_INSTAGRAM))
    assert [r.code for r in ig.rules] == ["c-ig"]

    _, given = await deliver(app, feed(reaction("PSID-38", "PAGE1_POST1"),
                                       comment("PSID-38", "PAGE1_POST1", "C-38")))
    assert given["rewards"] == 1
    delete = S.DeleteSocialRuleRequest(request_id=str(uuid.uuid4()), code="a-like-and-comment")
    gone = (await admin.social.DeleteSocialRule(delete)).rule
    assert gone.delete_time.seconds > 0 and not gone.active and gone.points == 150
    assert (await admin.social.DeleteSocialRule(delete)).rule == gone  # a retry: same answer
    with rpc_error() as failure:  # deleted already
        await admin.social.DeleteSocialRule(S.DeleteSocialRuleRequest(
            request_id=str(uuid.uuid4()), code="a-like-and-comment"))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND,
                                              "SOCIAL_RULE_NOT_FOUND")
    with rpc_error() as failure:
        await admin.social.DeleteSocialRule(S.DeleteSocialRuleRequest(
            request_id=str(uuid.uuid4()), code="never-was"))
    assert failure.reason == "SOCIAL_RULE_NOT_FOUND"
    listed = await admin.social.ListSocialRules(S.ListSocialRulesRequest())
    assert [r.code for r in listed.rules] == ["b-other-post", "c-ig"]
    everything = await admin.social.ListSocialRules(S.ListSocialRulesRequest(
        show_deleted=True))
    assert [(r.code, r.delete_time.seconds > 0) for r in everything.rules] == [
        ("a-like-and-comment", True), ("b-other-post", False), ("c-ig", False)]

    # no longer applied: the same actions on another post it would have matched give nothing
    other = await new_member(admin, 39)
    await link(admin, other.member_id, S.SOCIAL_NETWORK_FACEBOOK, "PSID-39")
    _, after = await deliver(app, feed(reaction("PSID-39", "PAGE1_POST1"),
                                       comment("PSID-39", "PAGE1_POST1", "C-39")))
    assert after == {"actions": 2, "new": 2, "rewards": 0}
    assert (await balance(admin, other)).points_available == 0
    record = await admin.social.ListSocialActivity(
        S.ListSocialActivityRequest(member_id=member.member_id))
    assert [(w.rule_code, w.outcome) for w in record.rewards] == [
        ("a-like-and-comment", "points")]  # the past outcome stays on the member's record
    assert (await balance(admin, member)).points_available == 150
    with rpc_error() as failure:  # its code stays taken
        await rule(admin, code="a-like-and-comment")
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "SOCIAL_RULE_DELETED")
    async with app.db.transaction() as session:
        audit = (await session.execute(sa.text(
            "SELECT action, before->>'active', after->>'active' FROM audit_log "
            "WHERE object_type = 'social_rule' AND object_id = 'a-like-and-comment' "
            "ORDER BY id"))).all()
    assert [tuple(a) for a in audit] == [("create", None, "true"), ("delete", "true", "false")]


async def test_listing_and_deleting_rules_need_the_campaign_rights(
        app, admin, make_key, client_for):
    from kopilka.v1 import roles_pb2 as RP

    await setup_world(admin)
    await rule(admin)
    await admin.roles.UpsertRole(RP.UpsertRoleRequest(request_id=rid(), role=RP.Role(
        name="campaign_reader", grants=[RP.Grant(object_type="campaigns", action="read")])))
    reader = client_for(await make_key("campaign_reader"))
    cashier = client_for(await make_key("cashier"))
    listed = await reader.social.ListSocialRules(S.ListSocialRulesRequest())
    assert [r.code for r in listed.rules] == ["like-and-comment"]
    for client in (reader, cashier):
        with rpc_error() as failure:
            await client.social.DeleteSocialRule(S.DeleteSocialRuleRequest(
                request_id=str(uuid.uuid4()), code="like-and-comment"))
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                                  "PERMISSION_DENIED")
    with rpc_error() as failure:
        await cashier.social.ListSocialRules(S.ListSocialRulesRequest())
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    for request, path in ((S.ListSocialRulesRequest(page_token="garbage"), "page_token"),
                          (S.ListSocialRulesRequest(page_size=-1), "page_size"),
                          (S.ListSocialRulesRequest(network=7), "network")):
        with rpc_error() as failure:
            await admin.social.ListSocialRules(request)
        assert (failure.code, failure.fields) == (grpc.StatusCode.INVALID_ARGUMENT, [path])
    with rpc_error() as failure:
        await admin.social.DeleteSocialRule(S.DeleteSocialRuleRequest(
            request_id=str(uuid.uuid4()), code=" "))
    assert failure.fields == ["code"]
    still = await admin.social.ListSocialRules(S.ListSocialRulesRequest())
    assert [(r.code, r.active) for r in still.rules] == [("like-and-comment", True)]
