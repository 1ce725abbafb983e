"""What an import run is: kinds, policies, rejected rows and the reconciliation report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from server.pricing.whatif import WhatIfTotals


class Policy(StrEnum):
    """What a bad row does to the run."""

    STOP = "stop"  # import the rows before the first bad one, then stop
    SKIP = "skip"  # import every good row, report the bad ones
    REJECT_ALL = "reject-all"  # import nothing when any row is bad


class RowError(ValueError):
    """A row cannot be imported: the field and why (the rejects file's columns)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reject:
    """One rejected row: where it is, which field, why."""

    file: str
    row: int
    source_id: str
    field: str
    reason: str


@dataclass(slots=True)
class Totals:
    """Rows and the money (or points) they carry."""

    rows: int = 0
    amount: int = 0


@dataclass(slots=True)
class Reconciliation:
    """Source against what would be (or was) imported, in total and per member."""

    source: Totals = field(default_factory=Totals)
    to_import: Totals = field(default_factory=Totals)
    unchanged: Totals = field(default_factory=Totals)
    rejected: Totals = field(default_factory=Totals)
    imported: Totals | None = None  # read back from the tables after a real run
    # per member (card number): streamed from SQL to the run's on_member callback, never
    # held here; these count them
    members_total: int = 0
    members_mismatched: int = 0  # imported amount differs from the amount to import
    # What today's promotion and bonus rules would have given the sales to import (a dry run
    # of sales: each receipt priced in memory as CalculateReceipt would); history mode itself
    # fires none. None for other kinds and real runs.
    rules: WhatIfTotals | None = None


@dataclass(slots=True)
class RunResult:
    """What one run did."""

    batch_id: uuid.UUID
    kind: str
    dry_run: bool
    resumed: bool
    rejects: list[Reject]
    report: Reconciliation
    stopped_at: int | None = None  # the row a stop policy stopped at
    committed: bool = False


def parse_policy(value: str) -> Policy:
    return Policy(value)
