"""The console's dashboard: sales with and without a card, discounts (by rule, with the
rules' names), points accrued and spent (by accrual rule, with the bonus rules' names), the
programme's liability and SMS,
over a chosen period, each as a server-side SVG chart with a table twin (charts.py).

Reads only (no RPC answers these totals): the `bonus.read` permission, as the RPCs closest to
them. A discount's rule is named by the rule set that gave it: the active one (in memory), or
one of the last rule sets applied before it (parsed once and kept: a stored rule set never
changes); a rule no recent rule set names shows its id.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.permissions import Permission
from server.console import charts
from server.db.console import queries
from server.pricing.schema import RuleSetError, load_rule_set

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.console.web import Console

log = logging.getLogger("kopilka.console")
#: how many rule sets back a discount's rule is looked for by name
RULE_SETS_BACK = 10


class RuleNames:
    """Rule id -> name over the active rule set and the ones applied before it."""

    def __init__(self, console: Console) -> None:
        self.deps = console.deps
        self._parsed: dict[int, dict[str, str]] = {}  # rule set id -> its rules' names

    async def names(self, session: AsyncSession, ids: Collection[str]) -> dict[str, str]:
        found = {r.rule.id: r.rule.name for r in self.deps.pricing.snapshot.rules.rules
                 if r.rule.id in ids and r.rule.name}
        missing = set(ids) - found.keys()
        if not missing:
            return found
        recent = await queries.recent_rule_set_ids(session, RULE_SETS_BACK)
        unread = [i for i in recent if i not in self._parsed]
        for rule_set_id, document, fmt in await queries.rule_set_documents(session, unread):
            try:
                doc = load_rule_set(document, "json" if fmt == "json" else "yaml")
            except RuleSetError:  # stored ones were valid when applied; never fail a page
                log.warning("rule set %s no longer parses", rule_set_id)
                doc = None
            self._parsed[rule_set_id] = {} if doc is None else {
                r.id: r.name for r in doc.rules if r.name}
        self._parsed = {i: self._parsed[i] for i in recent if i in self._parsed}
        for rule_set_id in recent:  # newest first: a rule renamed shows its latest name
            for rule_id in list(missing):
                name = self._parsed[rule_set_id].get(rule_id)
                if name:
                    found[rule_id] = name
                    missing.discard(rule_id)
        return found


#: points no bonus rule gave (server/db/ledger/bonus.py `manual_lot` and the other doors'
#: lots): shown by what made them (i18n `lot_` + the lot's rule id)
SYSTEM_LOTS = ("-", "manual", "list", "conversion", "survey", "order_exchange",
               "order_payment_refund")


async def bonus_rule_names(deps: ApiDeps, session: AsyncSession,
                           ids: Collection[str]) -> dict[str, str]:
    """Accrual rule id -> name: the active bonus rules' (in memory), else the newest of the
    last RULE_SETS_BACK applied that names it (one read, only for ids still unnamed)."""
    active = deps.pricing.snapshot.accrual.document.rules
    found = {r.id: r.name for r in active if r.id in ids and r.name}
    missing = sorted(set(ids) - found.keys() - set(SYSTEM_LOTS))
    if missing:
        found |= {k: v for k, v in (await queries.bonus_rule_names(
            session, missing, RULE_SETS_BACK)).items() if k not in found}
    return found


class DashboardPages:
    """The handler; `add_routes` puts it on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door
        self.deps = console.deps
        self.rule_names = RuleNames(console)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/dashboard", self.dashboard)

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        self.door.require(who, Permission.BONUS_READ)
        today = self.deps.clock().date()

        def day(name: str, default: dt.date) -> dt.date:
            try:
                return dt.date.fromisoformat(request.query.get(name, ""))
            except ValueError:
                return default

        start = day("from", today - dt.timedelta(days=13))
        end = max(start, day("to", today))
        end = min(end, start + dt.timedelta(days=366))
        utc = dt.UTC
        t0 = dt.datetime.combine(start, dt.time(), utc)
        t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc)
        now = self.deps.clock()
        async with self.deps.db.transaction() as session:
            days = await queries.daily_totals(session, t0, t1)
            owed = await queries.liability(session, now, now + dt.timedelta(days=30))
            by_rule = await queries.points_by_rule(session, t0, t1)
            split = await queries.discounts_by_rule(session, t0, t1)
            names = await self.rule_names.names(session, {r for r, _ in split.by_rule})
            bonus_names = await bonus_rule_names(self.deps, session, {r for r, _ in by_rule})
        t = self.console.t(request)
        labels = [d.day.strftime("%d.%m") for d in days]
        # (label, rule id or "", amount): each rule by its name, then the other rows
        discount_rows: list[tuple[str, str, int]] = [
            (names.get(rule, rule), rule, amount) for rule, amount in split.by_rule]
        discount_rows += [(label, "", amount) for label, amount in charts.rest_rows(split, t)]
        # (label, rule id, points): a bonus rule by its name, the doors' lots by what made
        # them, a rule nobody names by its id
        point_rows = [(bonus_names.get(rule) or t.get("lot_" + rule, rule), rule, points)
                      for rule, points in by_rule]
        sms = sum(d.sms for d in days)
        cost = self.deps.settings.console_sms_cost_minor
        context: dict[str, Any] = dict(
            start=start.isoformat(), end=end.isoformat(), days=days,
            owed=owed, sms=sms, sms_cost=sms * cost, point_rows=point_rows,
            discount_rows=discount_rows,
            discount_rule_chart=charts.bars(t["discounts_by_rule"],
                                            [label for label, _, _ in discount_rows],
                                            [(t["discounts"], [a for _, _, a in discount_rows])]),
            rule_chart=charts.bars(t["points_by_rule"], [label for label, _, _ in point_rows],
                                   [(t["points_accrued"], [p for _, _, p in point_rows])]),
            sales_chart=charts.bars(t["sales_card"] + " / " + t["sales_nocard"], labels, [
                (t["sales_card"], [d.sales_with_card for d in days]),
                (t["sales_nocard"], [d.sales_without_card for d in days])]),
            points_chart=charts.bars(t["points_accrued"] + " / " + t["points_spent"], labels, [
                (t["points_accrued"], [d.points_accrued for d in days]),
                (t["points_spent"], [d.points_spent for d in days])]),
            discount_chart=charts.bars(t["discounts"], labels, [
                (t["discounts"], [d.discounts for d in days])]),
            sms_chart=charts.bars(t["sms_sent"], labels, [(t["sms_sent"],
                                                            [d.sms for d in days])]))
        return self.console.render(request, "dashboard.html", **context)
