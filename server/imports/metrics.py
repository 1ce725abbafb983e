"""Prometheus metrics of running imports (bounded labels: the kind and the outcome)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ROWS = Counter("kopilka_import_rows_total", "Source rows handled by imports",
               ["kind", "outcome"])  # outcome: read, rejected, written, unchanged
RUNNING = Gauge("kopilka_import_running", "Imports running now", ["kind"])
