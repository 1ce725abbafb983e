"""Domain errors with stable reasons; the API layer maps them to gRPC status codes.

Domain code raises these and nothing else on purpose: one interceptor turns them into
google.rpc.Status (ErrorInfo + BadRequest), so every RPC fails the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.reasons import REASONS, ErrorKind, UnknownReasonError, check_reason

__all__ = [
    "MAX_VIOLATIONS", "REASONS", "DomainError", "ErrorKind", "FieldViolation",
    "UnknownReasonError", "Violations", "echo", "invalid", "not_found", "summary",
]

#: field violations one error carries; the rest are counted, so a request with a thousand
#: bad lines still gets its reasons back within gRPC's 8 KiB metadata limit
MAX_VIOLATIONS = 20
#: violations spelled out in an error's message (all of them are in BadRequest)
SUMMARY_VIOLATIONS = 3
#: characters of a caller's value repeated in an error message
ECHO_CHARS = 64  # a UUID, a card, SKU or receipt number in full; longer values are cut


def echo(value: str) -> str:
    """A caller's value as an error message may repeat it: quoted, cut to a short prefix."""
    if len(value) <= ECHO_CHARS:
        return repr(value)
    return repr(value[:ECHO_CHARS]) + "..."


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field: `field` is a path such as `profile.phone` or `lines[2].quantity_milli`."""

    field: str
    description: str


@dataclass
class DomainError(Exception):
    """A refusal the caller can act on. `reason` is UPPER_SNAKE and never changes meaning."""

    kind: ErrorKind
    reason: str
    message: str
    violations: list[FieldViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_reason(self.kind, self.reason)  # the one place every reason passes

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def invalid(field_path: str, description: str, reason: str = "INVALID_ARGUMENT") -> DomainError:
    """Shortcut for a single bad field."""
    return DomainError(
        ErrorKind.INVALID_ARGUMENT,
        reason,
        f"{field_path}: {description}",
        [FieldViolation(field_path, description)],
    )


def not_found(what: str, key: str, reason: str) -> DomainError:
    """Shortcut for a missing entity; the key goes to metadata for the caller's logs."""
    return DomainError(ErrorKind.NOT_FOUND, reason, f"{what} {echo(key)} not found", metadata={
        "key": key[:64]
    })


def summary(violations: list[FieldViolation], more: int = 0) -> str:
    """A message naming the first few violations and counting the others."""
    shown = "; ".join(f"{v.field}: {v.description}" for v in violations[:SUMMARY_VIOLATIONS])
    rest = len(violations) - SUMMARY_VIOLATIONS + more
    return f"{shown}; and {rest} more" if rest > 0 else shown


class Violations:
    """Collects the bad fields of a request so the caller sees them at once: the first
    MAX_VIOLATIONS in full, the rest counted (`more`)."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []
        self.more = 0

    def add(self, field_path: str, description: str) -> None:
        if len(self.items) < MAX_VIOLATIONS:
            self.items.append(FieldViolation(field_path, description))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, reason: str = "INVALID_ARGUMENT") -> None:
        if self.items:
            raise DomainError(ErrorKind.INVALID_ARGUMENT, reason,
                              summary(self.items, self.more), list(self.items),
                              self._count())

    def _count(self) -> dict[str, str]:
        """ErrorInfo metadata: how many violations there were, when not all are listed."""
        return {"violation_count": str(len(self.items) + self.more)} if self.more else {}
