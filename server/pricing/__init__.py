"""Pricing engine: promotion rules as data, compiled and applied to receipts.

Pure Python with no I/O: the gRPC adapter builds `Receipt`/`Catalog`/`Store` values, the
DB layer fills `MemberContext`, and `price_receipt` returns a `PricingResult`.
"""

from server.pricing.allocation import allocate_largest_remainder
from server.pricing.compiler import CompiledRuleSet, compile_rule_set
from server.pricing.engine import price_receipt
from server.pricing.model import (
    Catalog,
    Discount,
    MemberContext,
    PricedLine,
    PricingResult,
    Product,
    PurchaseAggregate,
    Receipt,
    ReceiptLine,
    Store,
)
from server.pricing.schema import RuleSetDocument, RuleSetError, load_rule_set, parse_rule_set

__all__ = [
    "Catalog",
    "CompiledRuleSet",
    "Discount",
    "MemberContext",
    "PricedLine",
    "PricingResult",
    "Product",
    "PurchaseAggregate",
    "Receipt",
    "ReceiptLine",
    "RuleSetDocument",
    "RuleSetError",
    "Store",
    "allocate_largest_remainder",
    "compile_rule_set",
    "load_rule_set",
    "parse_rule_set",
    "price_receipt",
]
