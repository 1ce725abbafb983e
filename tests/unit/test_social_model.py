"""What a Meta notification becomes, and when a rule's window holds every kind it asks for."""

from __future__ import annotations

import datetime as dt

from server.social.model import Rule, parse, satisfied

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_page_feed_reactions_and_comments_instagram_comments_and_mentions() -> None:
    page = {"object": "page", "entry": [{"id": "P", "time": 1764590400, "changes": [
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "P_1",
                                    "from": {"id": "U1"}, "created_time": 1764590000}},
        {"field": "feed", "value": {"item": "reaction", "verb": "remove", "post_id": "P_1",
                                    "from": {"id": "U1"}}},
        {"field": "feed", "value": {"item": "comment", "verb": "add", "post_id": "P_1",
                                    "comment_id": "P_1_9", "from": {"id": "U1"}}},
        {"field": "feed", "value": {"item": "status", "verb": "add", "post_id": "P_2"}},
        {"field": "feed", "value": "not an object"}]}, "junk"]}
    got = parse(page, NOW)
    assert [(a.event_key, a.kind, a.social_id, a.post_id) for a in got] == [
        ("fb:reaction:P_1:U1", "reaction", "U1", "P_1"),
        ("fb:comment:P_1_9", "comment", "U1", "P_1")]
    assert got[0].occurred_at == dt.datetime.fromtimestamp(1764590000, dt.UTC)
    assert got[1].occurred_at == dt.datetime.fromtimestamp(1764590400, dt.UTC)  # entry.time
    insta = {"object": "instagram", "entry": [{"id": "IG", "time": 1764590400123, "changes": [
        {"field": "comments", "value": {"id": "C1", "from": {"id": "IGU", "username": "u"},
                                        "media": {"id": "M1"}, "text": "hi"}},
        {"field": "mentions", "value": {"media_id": "M2", "comment_id": "C2"}},
        {"field": "story_insights", "value": {"media_id": "M3", "reach": 5}}]}]}
    got = parse(insta, NOW)
    assert [(a.event_key, a.kind, a.social_id, a.post_id) for a in got] == [
        ("ig:comment:C1", "comment", "IGU", "M1"), ("ig:mention:C2", "mention", "", "M2")]
    assert got[0].occurred_at.year == 2025  # milliseconds read as such
    assert parse({"object": "user", "entry": []}, NOW) == []
    assert parse([1, 2], NOW) == []


def test_the_window_holds_every_kind_around_the_new_action() -> None:
    rule = Rule("r", "r", "facebook", "", ("reaction", "comment"), 10, 1, None, 1, 1, True)
    minutes = dt.timedelta(minutes=1)
    like, talk = ("reaction", NOW), ("comment", NOW + 9 * minutes)
    assert satisfied(rule, [like, talk], talk[1])
    assert satisfied(rule, [like, talk], like[1])  # the later one came first
    far = ("comment", NOW + 11 * minutes)
    assert not satisfied(rule, [like, far], far[1])
    assert not satisfied(rule, [like], like[1])
