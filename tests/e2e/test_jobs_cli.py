"""`kopilka ledger run-jobs`, the pass cron runs, with every trigger configured (main()
in-process, tests/cli.py)."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import certificates_pb2 as C

from tests.cli import kopilka
from tests.e2e.jobs_support import (
    BIRTHDAY_POINTS,
    KYIV,
    REGISTRATION_POINTS,
    apply_every_trigger,
    build_world,
    plant_registration_failure,
    points,
    schedule_lots,
)

# the shopping steps (issue 13) find nothing in these worlds
NO_SHOPPING = {"baskets_abandoned": 0, "wishlist_promotions": 0, "site_events_pruned": 0,
               "product_pairs": 0}


def _counts(out: str) -> dict[str, int]:
    line = out.strip().splitlines()[-1]
    return {k: int(v) for k, v in (part.split(": ") for part in line.split(", "))}


async def test_run_jobs_with_every_trigger_type_configured(admin, database_url, tmp_path):
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(days=1, minutes=10)  # lots due, certificate past validity
    world = await build_world(admin, later.astimezone(KYIV).date())
    await schedule_lots(admin, world.plain, world.birthday, now)
    await apply_every_trigger(database_url, tmp_path)

    code, out, err = await kopilka(database_url, "ledger", "run-jobs", "--now", later.isoformat())
    assert code == 0, err
    assert _counts(out) == {"activated": 2, "expired": 1, "registration": 2, "birthday": 1,
                            "certificates_expired": 1, "points_expiring": 0,
                            "birthday_events": 1, "certificates_expiring": 0,
                            **NO_SHOPPING, "web_orders_routed": 0,
                            "tiers": 0, "appeals_overdue": 0,
                            "payments_checked": 0, "waybills_tracked": 0,
                            "refunds_settled": 0}
    assert await points(admin, world.plain) == (REGISTRATION_POINTS + 30, 0)
    assert await points(admin, world.birthday) == (REGISTRATION_POINTS + BIRTHDAY_POINTS, 0)
    cert = await admin.certificates.GetCertificate(C.GetCertificateRequest(
        number=world.certificate))
    assert [e.kind for e in cert.entries] == ["issue", "expire"]

    code, out, err = await kopilka(database_url, "ledger", "run-jobs", "--now", later.isoformat())
    assert code == 0, err
    assert set(_counts(out).values()) == {0}  # every event is granted once
    assert await points(admin, world.birthday) == (REGISTRATION_POINTS + BIRTHDAY_POINTS, 0)


async def test_a_failing_step_is_named_and_the_others_still_run(app, admin, database_url,
                                                                tmp_path):
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(days=1, minutes=10)
    world = await build_world(admin, later.astimezone(KYIV).date())
    await schedule_lots(admin, world.plain, world.birthday, now)
    await apply_every_trigger(database_url, tmp_path)
    await plant_registration_failure(app)

    code, out, err = await kopilka(database_url, "ledger", "run-jobs", "--now", later.isoformat())
    assert code == 1
    assert "job step registration failed" in err
    assert "Olena" not in err and "Secretname" not in err and "38067" not in err
    assert _counts(out) == {"activated": 2, "expired": 1, "registration": 0, "birthday": 1,
                            "certificates_expired": 1, "points_expiring": 0,
                            "birthday_events": 1, "certificates_expiring": 0,
                            **NO_SHOPPING, "web_orders_routed": 0,
                            "tiers": 0, "appeals_overdue": 0,
                            "payments_checked": 0, "waybills_tracked": 0,
                            "refunds_settled": 0}
    assert await points(admin, world.plain) == (30, 0)  # no registration points: that failed
    assert await points(admin, world.birthday) == (BIRTHDAY_POINTS, 0)
    cert = await admin.certificates.GetCertificate(C.GetCertificateRequest(
        number=world.certificate))
    assert cert.certificate.balance.amount_minor == 0
