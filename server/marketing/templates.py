"""Message templates: sandboxed Jinja (ImmutableSandboxedEnvironment, StrictUndefined).

A template is checked when it is saved, so a campaign never fails half way: it must parse,
use only the personal fields below, and render with sample values without tripping the
sandbox (no attribute games such as ``''.__class__``). A template that is plain text with
``{{ field }}`` substitutions is also compiled to pieces the database can concatenate, so a
campaign renders every recipient's text in one INSERT ... SELECT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from server.errors import invalid

#: personal fields a template may use, with the sample each is checked with
FIELDS: Mapping[str, Any] = {
    "first_name": "Olena", "last_name": "Shevchenko", "middle_name": "Petrivna",
    "card_number": "2910000000017", "points_balance": 1250, "unsubscribe_url":
    "https://example.test/u/token",
    # the recipient's personal coupon (a campaign or trigger with a coupon; else empty)
    "coupon": "SAMPLE7M3Q9XA2B",
}

ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


@dataclass(frozen=True, slots=True)
class Field:
    name: str


Piece = Literal | Field


def check_template(source: str, field: str) -> tuple[Piece, ...] | None:
    """Refuse an unusable template (INVALID_ARGUMENT naming `field` and why); return its
    pieces when it is plain substitution, else None (rendered by Jinja per recipient)."""
    try:
        tree = ENV.parse(source)
    except TemplateError as exc:
        raise invalid(field, f"template does not parse: {exc}", "TEMPLATE_INVALID") from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(FIELDS))
    if unknown:
        raise invalid(field, f"unknown field(s): {', '.join(unknown)} (known: "
                      f"{', '.join(FIELDS)})", "TEMPLATE_INVALID")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = getattr(node, "attr", None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise invalid(field, f"unsafe code: attribute {attr!r}", "TEMPLATE_INVALID")
    try:
        ENV.from_string(source).render(**FIELDS)
    except SecurityError as exc:
        raise invalid(field, f"unsafe code: {exc}", "TEMPLATE_INVALID") from None
    except TemplateError as exc:
        raise invalid(field, f"template does not render: {exc}", "TEMPLATE_INVALID") from None
    except Exception as exc:  # e.g. a division by zero in an expression
        raise invalid(field, f"template does not render: {exc!r}"[:200],
                      "TEMPLATE_INVALID") from None
    return _pieces(tree)


def _pieces(tree: nodes.Template) -> tuple[Piece, ...] | None:
    pieces: list[Piece] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                pieces.append(Literal(part.data))
            elif isinstance(part, nodes.Name) and part.ctx == "load":
                pieces.append(Field(part.name))
            else:
                return None
    return tuple(pieces)


def uses_field(source: str, name: str) -> bool:
    """Whether a (checked) template refers to the personal field `name`."""
    return name in meta.find_undeclared_variables(ENV.parse(source))


def render(source: str, values: Mapping[str, Any]) -> str:
    """Render a checked template; missing values render as empty text."""
    context = {name: ("" if values.get(name) is None else values[name]) for name in FIELDS}
    return ENV.from_string(source).render(**context)


def pick_language(available: Mapping[str, Any], wanted: str | None, default: str) -> str:
    """The member's language if the template has it, else its language without region
    (uk-UA -> uk), else the template's default."""
    if wanted and wanted in available:
        return wanted
    if wanted and wanted.split("-")[0] in available:
        return wanted.split("-")[0]
    return default
