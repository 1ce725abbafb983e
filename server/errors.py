"""Domain errors with stable reasons; the API layer maps them to gRPC status codes.

Domain code raises these and nothing else on purpose: one interceptor turns them into
google.rpc.Status (ErrorInfo + BadRequest), so every RPC fails the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.reasons import REASONS, ErrorKind, UnknownReasonError, check_reason

__all__ = [
    "REASONS", "DomainError", "ErrorKind", "FieldViolation", "UnknownReasonError", "Violations",
    "invalid", "not_found",
]


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
    return DomainError(ErrorKind.NOT_FOUND, reason, f"{what} {key!r} not found", metadata={
        "key": key
    })


class Violations:
    """Collects every bad field of a request so the caller sees them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def raise_if_any(self, reason: str = "INVALID_ARGUMENT") -> None:
        if self.items:
            summary = "; ".join(f"{v.field}: {v.description}" for v in self.items)
            raise DomainError(ErrorKind.INVALID_ARGUMENT, reason, summary, list(self.items))
