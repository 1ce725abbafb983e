"""What-if runs: a candidate promotion rule set over the confirmed receipts of a past period.

One application service for the RPC (server-streamed progress) and the CLI (a progress
bar): compile the candidate, stream the period's receipts in keyset pages, price each in
memory against the current catalog, stores and bonus rules, and report totals per page.
Reads only; nothing is written to the receipts or anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, text

from server.accounts.accrual import AccrualFacts, CompiledRules, FactLine, compute_accrual
from server.db.database import Database
from server.db.models import CardType, Receipt
from server.db.pricing.whatif import PAGE, past_receipts
from server.errors import Violations
from server.features.pricing import PricingSnapshot, parse_document
from server.pricing.model import Catalog, PricingResult
from server.pricing.whatif import PastReceipt, WhatIfTotals

BP = 10_000
MAX_PERIOD = dt.timedelta(days=732)


@dataclass(frozen=True, slots=True)
class Progress:
    """Totals so far; `expected` is the period's receipt count when the run began."""

    totals: WhatIfTotals
    expected: int
    done: bool
    version: str


def check_period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime,
                                                                              dt.datetime]:
    """A bounded, ordered period; INVALID_ARGUMENT naming the bad end otherwise."""
    errors = Violations()
    if start is None:
        errors.add("period_start", "required: the first moment of the period")
    if end is None:
        errors.add("period_end", "required: the end of the period (exclusive)")
    if start is not None and end is not None:
        if end <= start:
            errors.add("period_end", "must be after period_start")
        elif end - start > MAX_PERIOD:
            errors.add("period_end", "the period may cover at most two years")
    errors.raise_if_any()
    assert start is not None and end is not None
    return start, end


def points_of(snap: PricingSnapshot, rates: Mapping[str, int]
               ) -> Callable[[PastReceipt, PricingResult], int]:
    accrual: CompiledRules = snap.accrual
    catalog: Catalog = snap.catalog

    def points(past: PastReceipt, result: PricingResult) -> int:
        if past.card_type is None:
            return 0
        if not accrual.document.rules:
            return result.total * rates.get(past.card_type, 0) // BP
        store = snap.stores.get(past.store_code)
        lines = []
        for x in result.lines:
            product = catalog.get(x.sku)
            lines.append(FactLine(x.line_no, x.sku, (product.group if product else None) or "",
                                  (product.brand if product else None) or "",
                                  x.final_amount, x.quantity_milli))
        facts = AccrualFacts(past.card_type, past.store_code,
                             store.network_ids if store else frozenset(), past.time,
                             tuple(lines))
        return compute_accrual(accrual, facts).total

    return points


async def run_what_if(db: Database, snap: PricingSnapshot, document: str, fmt: str,
                      start: dt.datetime, end: dt.datetime, page: int = PAGE
                      ) -> AsyncIterator[Progress]:
    """Progress after every page, the last one with `done`; INVALID_RULE_SET first if the
    candidate is invalid (before anything is read)."""
    _, candidate = parse_document(document, fmt)
    async with db.transaction() as session:
        rates = {code: bps for code, bps in await session.execute(
            select(CardType.code, CardType.accrual_bps))}
        expected = int(await session.scalar(
            select(func.count()).select_from(Receipt).where(
                Receipt.confirmed_at >= start, Receipt.confirmed_at < end,
                text("state NOT IN ('cancelled', 'refunded')"))) or 0)
    earned = points_of(snap, rates)
    totals = WhatIfTotals()
    catalog, stores = snap.catalog, snap.stores
    async for batch in past_receipts(db, start, end, page):
        for past in batch:
            if past is None:
                totals.skipped += 1
            else:
                totals.add(candidate, catalog, stores, past, earned)
        yield Progress(totals, expected, False, candidate.version)
    yield Progress(totals, expected, True, candidate.version)


class SnapshotPreview:
    """Today's rules (a pricing snapshot) over past receipts that are not in the database
    yet: a dry run of a sales import reports what they would have given (RulesPreview)."""

    def __init__(self, snap: PricingSnapshot, rates: Mapping[str, int]) -> None:
        self.totals = WhatIfTotals()
        self._snap = snap
        self._points = points_of(snap, rates)

    def add(self, past: PastReceipt) -> None:
        self.totals.add(self._snap.rules, self._snap.catalog, self._snap.stores, past,
                        self._points)
