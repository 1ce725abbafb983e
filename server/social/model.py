"""Actions from Meta's webhooks and the rules over them (no SQL, no HTTP).

Facebook Pages deliver `feed` changes: reactions and comments with the sender's id and the
post id. Instagram delivers `comments` (with the commenter) and `mentions` (no sender: kept
unlinked); it has no webhook for likes (docs/social.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

NETWORKS = {"page": "facebook", "instagram": "instagram"}
KINDS = ("reaction", "comment", "mention")


@dataclass(frozen=True)
class Action:
    """One thing a person did, with the provider's identity of the event (`event_key`)."""

    event_key: str
    network: str
    kind: str
    social_id: str
    post_id: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class Rule:
    """Every kind in `kinds` on the post within `window_minutes`: `points` or a coupon of
    `coupon_promotion_id`, at most `cap_count` times per member in `cap_days`."""

    code: str
    name: str
    network: str
    post_id: str
    kinds: tuple[str, ...]
    window_minutes: int
    points: int
    coupon_promotion_id: str | None
    cap_count: int
    cap_days: int
    active: bool
    updated_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None
    """Deleted: never applied again; its code stays taken (its outcomes name it)."""


def _when(value: Any, fallback: dt.datetime) -> dt.datetime:
    """Meta's times: unix seconds or milliseconds (both occur), else when it came."""
    if isinstance(value, int) and value > 0:
        return dt.datetime.fromtimestamp(value / 1000 if value > 10**11 else value, dt.UTC)
    return fallback


def _text(value: Any, chars: int) -> str:
    return value[:chars] if isinstance(value, str) else ""


def parse(payload: Any, received: dt.datetime) -> list[Action]:
    """The actions of a notification; changes we do not use (edits, removals, other fields)
    are skipped, so Meta still gets its 200."""
    if not isinstance(payload, dict) or payload.get("object") not in NETWORKS:
        return []
    network = NETWORKS[payload["object"]]
    found: list[Action] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        stamp = _when(entry.get("time"), received)
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            action = _action(network, str(change.get("field", "")), change["value"], stamp)
            if action is not None:
                found.append(action)
    return found


def _action(network: str, field: str, v: dict[str, Any], stamp: dt.datetime) -> Action | None:
    sender: dict[str, Any] = v["from"] if isinstance(v.get("from"), dict) else {}
    sender_id = _text(sender.get("id"), 64)
    if network == "facebook" and field == "feed":
        item, post = v.get("item"), _text(v.get("post_id"), 128)
        if v.get("verb") != "add" or not post or not sender_id:
            return None
        when = _when(v.get("created_time"), stamp)
        if item == "reaction":
            return Action(f"fb:reaction:{post}:{sender_id}", network, "reaction", sender_id,
                          post, when)
        if item == "comment" and _text(v.get("comment_id"), 128):
            return Action(f"fb:comment:{_text(v.get('comment_id'), 128)}", network, "comment",
                          sender_id, post, when)
        return None
    if network == "instagram" and field == "comments":
        media: dict[str, Any] = v["media"] if isinstance(v.get("media"), dict) else {}
        comment, post = _text(v.get("id"), 128), _text(media.get("id"), 128)
        if not comment or not post or not sender_id:
            return None
        return Action(f"ig:comment:{comment}", network, "comment", sender_id, post, stamp)
    if network == "instagram" and field == "mentions":
        post = _text(v.get("media_id"), 128)
        key = _text(v.get("comment_id"), 128) or post
        if not post:
            return None
        return Action(f"ig:mention:{key}", network, "mention", "", post, stamp)
    return None


def applies(rule: Rule, action: Action) -> bool:
    """The rule could be completed by this action."""
    return (rule.active and rule.deleted_at is None and rule.network == action.network
            and action.kind in rule.kinds and rule.post_id in ("", action.post_id))


def satisfied(rule: Rule, seen: list[tuple[str, dt.datetime]], at: dt.datetime) -> bool:
    """Some window of `window_minutes` that holds `at` (the new action) holds every kind
    the rule asks for; `seen` are the member's actions on the post (in any order: Meta
    may deliver a later action first)."""
    window = dt.timedelta(minutes=rule.window_minutes)
    wanted = set(rule.kinds)
    for start in sorted({t for _, t in seen if at - window <= t <= at}):
        inside = {k for k, t in seen if start <= t <= start + window}
        if at <= start + window and wanted <= inside:
            return True
    return False


def check_rule(rule: Rule) -> Rule:
    """A rule that can be applied, or INVALID_ARGUMENT naming the field."""
    from server.errors import invalid

    if not rule.code.strip():
        raise invalid("rule.code", "required")
    if rule.network not in NETWORKS.values():
        raise invalid("rule.network", "facebook or instagram")
    if not rule.kinds or any(k not in KINDS for k in rule.kinds):
        raise invalid("rule.kinds", "one or more of reaction, comment, mention")
    if rule.network == "instagram" and "reaction" in rule.kinds:
        raise invalid("rule.kinds", "Instagram delivers no webhook for likes")
    if not 0 < rule.window_minutes <= 525_600:
        raise invalid("rule.window_minutes", "1 to 525600 (a year)")
    if not 0 < rule.cap_count <= 1000 or not 0 < rule.cap_days <= 3660:
        raise invalid("rule.cap_count", "cap_count 1..1000 within cap_days 1..3660")
    if rule.coupon_promotion_id and rule.points:
        raise invalid("rule.points", "points or a coupon, not both")
    if not rule.coupon_promotion_id and not 0 < rule.points <= 10**9:
        raise invalid("rule.points", "1 to 10**9 points, or set coupon_promotion_id")
    return rule
