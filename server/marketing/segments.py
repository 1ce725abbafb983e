"""The segment language: a small, safe filter over member fields, parsed to a tree that
server/db/marketing/segments.py compiles to parameterised SQL (values never become SQL).

    card_type = 'gold' and points_balance >= 500 and not consent_sms = false
    birth_month = 12 or (purchases_count > 3 and last_purchase_days <= 30)
    store in ['kyiv-01', 'lviv-02'] and language = 'en'

Fields are typed; an unknown field, a wrong type or an operator a field does not take is
refused with the position it was found at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from server.errors import invalid

Kind = Literal["text", "int", "bool"]
#: field -> (type, operators it takes)
ORDERED = ("=", "!=", "<", "<=", ">", ">=", "in")
EQUALITY = ("=", "!=", "in")
FIELDS: dict[str, tuple[Kind, tuple[str, ...]]] = {
    "first_name": ("text", EQUALITY), "last_name": ("text", EQUALITY),
    "gender": ("text", EQUALITY), "marital_status": ("text", EQUALITY),
    "language": ("text", EQUALITY), "vip": ("bool", ("=", "!=")),
    "age": ("int", ORDERED), "birth_month": ("int", ORDERED), "birth_day": ("int", ORDERED),
    "card_type": ("text", ("=", "in")), "store": ("text", ("=", "in")),
    "purchases_count": ("int", ORDERED), "purchases_total_minor": ("int", ORDERED),
    "last_purchase_days": ("int", ORDERED), "points_balance": ("int", ORDERED),
    "consent_sms": ("bool", ("=", "!=")), "consent_email": ("bool", ("=", "!=")),
    "consent_viber": ("bool", ("=", "!=")),
}
MAX_SEGMENT_CHARS = 4000
MAX_NODES = 100

Value = str | int | bool


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str
    values: tuple[Value, ...]  # one value, or the list of `in`


@dataclass(frozen=True, slots=True)
class Not:
    inner: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["and", "or"]
    items: tuple[Node, ...]


Node = Compare | Not | BoolOp

_TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+)|(?P<str>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|=|<|>)
    |(?P<punct>[()\[\],])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""", re.VERBOSE)


class _Parser:
    def __init__(self, source: str, field: str) -> None:
        self.field = field
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(source):
            if source[pos:].strip() == "":
                break
            match = _TOKEN.match(source, pos)
            if match is None or match.end() == pos:
                self.fail(pos, "unexpected character")
            assert match is not None and match.lastgroup is not None
            self.tokens.append((match.lastgroup, match.group(match.lastgroup),
                                match.start(match.lastgroup)))
            pos = match.end()
        self.i = 0
        self.count = 0

    def fail(self, pos: int, why: str) -> None:
        raise invalid(self.field, f"{why} at position {pos}", "SEGMENT_INVALID")

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", -1)

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.i += 1
        return token

    def word(self, value: str) -> bool:
        kind, text, _ = self.peek()
        if kind == "word" and text.lower() == value:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.disjunction()
        kind, _, pos = self.peek()
        if kind != "end":
            self.fail(pos, "unexpected text")
        return node

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.word("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.word("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def negation(self) -> Node:
        if self.word("not"):
            return Not(self.negation())
        kind, text, pos = self.peek()
        if kind == "punct" and text == "(":
            self.take()
            node = self.disjunction()
            if self.take()[1] != ")":
                self.fail(pos, "unclosed parenthesis")
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        self.count += 1
        kind, name, pos = self.take()
        if self.count > MAX_NODES:
            self.fail(pos, f"more than {MAX_NODES} comparisons")
        if kind != "word":
            self.fail(pos, "expected a field name")
        if name not in FIELDS:
            self.fail(pos, f"unknown field {name!r} (known: {', '.join(sorted(FIELDS))})")
        field_kind, ops = FIELDS[name]
        kind, op, op_pos = self.take()
        if kind == "word" and op.lower() == "in":
            op = "in"
        elif kind != "op":
            self.fail(op_pos, "expected an operator")
        if op not in ops:
            self.fail(op_pos, f"{name} takes {' '.join(ops)}, not {op}")
        if op == "in":
            if self.take()[1] != "[":
                self.fail(op_pos, "in takes a [list]")
            values = [self.value(field_kind)]
            while self.peek()[1] == ",":
                self.take()
                values.append(self.value(field_kind))
            if self.take()[1] != "]":
                self.fail(op_pos, "unclosed list")
            return Compare(name, op, tuple(values))
        return Compare(name, op, (self.value(field_kind),))

    def value(self, kind: Kind) -> Value:
        token_kind, text, pos = self.take()
        if kind == "int" and token_kind == "num":
            return int(text)
        if kind == "text" and token_kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "bool" and token_kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        self.fail(pos, f"expected a {kind} value")
        raise AssertionError  # fail raised


def parse_segment(source: str, field: str = "segment") -> Node:
    """The tree of a segment, or INVALID_ARGUMENT (reason SEGMENT_INVALID) naming `field`."""
    if not source.strip():
        raise invalid(field, "required", "SEGMENT_INVALID")
    if len(source) > MAX_SEGMENT_CHARS:
        raise invalid(field, f"longer than {MAX_SEGMENT_CHARS} characters", "SEGMENT_INVALID")
    return _Parser(source, field).parse()
