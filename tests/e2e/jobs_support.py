"""Shared set-up of the scheduled-jobs tests: a rule set with every trigger, members with
events due, a scheduled and an expiring points lot, a certificate past its validity.

The accrual rules are applied the way an operator does it: `kopilka bonus-rules apply` on
the test database (in-process, tests/cli.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import bonus_pb2, members_pb2
from sqlalchemy import text

from tests.cli import kopilka
from tests.e2e.certificates_helpers import issue, money_type, setup_stores, upsert_type
from tests.e2e.ledger_support import Member, setup_world

KYIV = ZoneInfo("Europe/Kyiv")

# Every trigger docs/bonus-rules.md lists: the three receipt triggers and the two events.
EVERY_TRIGGER_RULES = """
version: every-trigger
timezone: Europe/Kyiv
combination: sum
rules:
  - {id: base, trigger: purchase, award: {percent_bp: 100}}
  - {id: first, trigger: first_purchase, award: {fixed_points: 7}}
  - {id: birthday-buy, trigger: birthday_purchase, birthday_window_days: 3,
     award: {percent_bp: 200}}
  - {id: welcome, trigger: registration, award: {fixed_points: 100}}
  - {id: happy-birthday, trigger: birthday, award: {fixed_points: 50}}
"""

REGISTRATION_POINTS = 100
BIRTHDAY_POINTS = 50

# A real failure planted in the database: granting registration points raises.
PLANT_REGISTRATION_FAILURE = (
    """CREATE FUNCTION planted_failure() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'planted failure'; END $$""",
    """CREATE TRIGGER planted_failure BEFORE INSERT ON event_accruals FOR EACH ROW
       WHEN (NEW.occasion = 'registration') EXECUTE FUNCTION planted_failure()""",
)


async def apply_every_trigger(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(EVERY_TRIGGER_RULES, encoding="utf-8")
    code, out, err = await kopilka(database_url, "bonus-rules", "apply", str(path))
    assert code == 0, err
    assert "applied 5 accrual rules" in out


async def plant_registration_failure(app) -> None:  # type: ignore[no-untyped-def]
    async with app.db.transaction() as session:
        for statement in PLANT_REGISTRATION_FAILURE:
            await session.execute(text(statement))


def _ts(when: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


async def register(admin, n: int, birth_date: dt.date | None = None) -> Member:  # type: ignore[no-untyped-def]
    reply = await admin.members.RegisterMember(members_pb2.RegisterMemberRequest(
        request_id=str(uuid.uuid4()),
        profile=members_pb2.MemberProfile(
            first_name="Olena", last_name="Secretname", phone=f"+38067{n:07d}",
            birth_date=birth_date.isoformat() if birth_date else ""),
        channel=members_pb2.REGISTRATION_CHANNEL_OPERATOR, issue_card_type="silver"))
    return Member(reply.member.member_id, reply.member.cards[0].number)


def birthday_on(day: dt.date) -> dt.date:
    """A birth date (leap year, so 29 February works) celebrated on `day`."""
    return dt.date(1992, day.month, day.day)


@dataclass
class World:
    plain: Member  # registered, no birth date
    birthday: Member  # registered, birthday on the local date of the run
    certificate: str  # a certificate whose validity has ended by the run


async def schedule_lots(admin, plain: Member, birthday: Member,  # type: ignore[no-untyped-def]
                        now: dt.datetime) -> None:
    """30 points for `plain` active from now+1h; 20 for `birthday` active +1h, gone +2h."""
    hour = dt.timedelta(hours=1)
    await admin.bonus.AccruePointsForList(bonus_pb2.AccruePointsForListRequest(
        request_id=str(uuid.uuid4()), card_numbers=[plain.card], points=30, reason="test",
        activation_time=_ts(now + hour)))
    await admin.bonus.AccruePointsForList(bonus_pb2.AccruePointsForListRequest(
        request_id=str(uuid.uuid4()), card_numbers=[birthday.card], points=20, reason="test",
        activation_time=_ts(now + hour), expiry_time=_ts(now + 2 * hour)))


async def build_world(admin, birthday: dt.date) -> World:  # type: ignore[no-untyped-def]
    """Members and a one-day certificate; `birthday` is the local date the jobs run on."""
    await setup_world(admin)
    await setup_stores(admin)
    plain = await register(admin, 1)
    celebrating = await register(admin, 2, birthday_on(birthday))
    await upsert_type(admin, money_type(valid_days=1))
    [cert] = await issue(admin)
    return World(plain, celebrating, cert.number)


async def points(admin, member: Member) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(available, pending) points of a member through the API."""
    reply = await admin.bonus.GetBalance(bonus_pb2.GetBalanceRequest(card_number=member.card))
    return reply.points_available, reply.points_pending
