"""Segment trees (server/marketing/segments.py) compiled to parameterised SQL over
`members m`: every value is a bind parameter, every field a fixed SQL fragment."""

from __future__ import annotations

from typing import Any

from server.marketing.segments import BoolOp, Compare, Node, Not

_PURCHASES = "(SELECT {agg} FROM receipts r WHERE r.member_id = m.id)"
_CONSENT = ("EXISTS (SELECT 1 FROM member_consents mc WHERE mc.member_id = m.id AND "
            "mc.channel = '{channel}' AND mc.purpose = 'marketing' AND mc.granted)")
#: scalar fields: SQL of their value
SCALAR = {
    "first_name": "m.first_name", "last_name": "m.last_name", "gender": "m.gender",
    "marital_status": "m.marital_status", "vip": "m.vip",
    "language": "coalesce((SELECT mp.language FROM member_preferences mp "
                "WHERE mp.member_id = m.id), :default_language)",
    "age": "extract(year FROM age(current_date, m.birth_date))::int",
    "birth_month": "extract(month FROM m.birth_date)::int",
    "birth_day": "extract(day FROM m.birth_date)::int",
    "purchases_count": _PURCHASES.format(agg="count(*)"),
    "purchases_total_minor": _PURCHASES.format(agg="coalesce(sum(r.total_minor), 0)"),
    "last_purchase_days": _PURCHASES.format(agg="current_date - max(r.confirmed_at)::date"),
    "points_balance": "coalesce((SELECT a.balance FROM ledger_accounts a WHERE "
                      "a.member_id = m.id AND a.kind = 'points'), 0)",
    "consent_sms": _CONSENT.format(channel="sms"),
    "consent_email": _CONSENT.format(channel="email"),
    "consent_viber": _CONSENT.format(channel="viber"),
}
#: set fields: SQL of "the member has one of :values"
EXISTS = {
    "card_type": "EXISTS (SELECT 1 FROM cards c WHERE c.member_id = m.id AND "
                 "c.card_type = ANY({values}))",
    "store": "EXISTS (SELECT 1 FROM receipts r WHERE r.member_id = m.id AND "
             "r.store_code = ANY({values}))",
}


class _Compiler:
    def __init__(self, first: int, default_language: str) -> None:
        self.first = first
        self.default_language = default_language
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}"

    def node(self, node: Node) -> str:
        if isinstance(node, BoolOp):
            return "(" + f" {node.op.upper()} ".join(self.node(i) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT coalesce({self.node(node.inner)}, false))"
        return self.compare(node)

    def compare(self, node: Compare) -> str:
        if node.field in EXISTS:
            return EXISTS[node.field].format(values=self.param(list(node.values)))
        column = SCALAR[node.field]
        if ":default_language" in column:
            column = column.replace(":default_language", self.param(self.default_language))
        if node.op == "in":
            return f"({column} = ANY({self.param(list(node.values))}))"
        return f"({column} {node.op} {self.param(node.values[0])})"


def compile_segment(node: Node, default_language: str, first: int = 1
                    ) -> tuple[str, list[Any]]:
    """(SQL boolean over `members m` with asyncpg parameters $first..., their values)."""
    compiler = _Compiler(first, default_language)
    return compiler.node(node), compiler.params
