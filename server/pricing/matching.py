"""Compiled line selectors: frozenset lookups instead of walking schema models."""

from __future__ import annotations

from dataclasses import dataclass

from server.pricing.model import Product
from server.pricing.schema_conditions import Selector


def _set(values: tuple[str, ...]) -> frozenset[str] | None:
    return frozenset(values) if values else None


@dataclass(frozen=True, slots=True)
class CompiledSelector:
    """A line matches when every restricted attribute is in its set (None = unrestricted)."""

    skus: frozenset[str] | None
    groups: frozenset[str] | None
    subgroups: frozenset[str] | None
    brands: frozenset[str] | None
    suppliers: frozenset[str] | None
    price_categories: frozenset[str] | None
    min_unit_price: int | None
    max_unit_price: int | None

    @classmethod
    def of(cls, selector: Selector) -> CompiledSelector:
        """Compile a schema selector."""
        return cls(
            _set(selector.skus),
            _set(selector.groups),
            _set(selector.subgroups),
            _set(selector.brands),
            _set(selector.suppliers),
            _set(selector.price_categories),
            selector.min_unit_price,
            selector.max_unit_price,
        )

    def matches(self, product: Product, unit_price: int) -> bool:
        """True when the product (at this unit price) satisfies every restriction."""
        if self.skus is not None and product.sku not in self.skus:
            return False
        if self.groups is not None and product.group not in self.groups:
            return False
        if self.subgroups is not None and product.subgroup not in self.subgroups:
            return False
        if self.brands is not None and product.brand not in self.brands:
            return False
        if self.suppliers is not None and product.supplier not in self.suppliers:
            return False
        if (
            self.price_categories is not None
            and product.price_category not in self.price_categories
        ):
            return False
        if self.min_unit_price is not None and unit_price < self.min_unit_price:
            return False
        return self.max_unit_price is None or unit_price <= self.max_unit_price


@dataclass(frozen=True, slots=True)
class LineMatcher:
    """ANY of `include` (empty = every line) and NONE of `exclude`."""

    include: tuple[CompiledSelector, ...]
    exclude: tuple[CompiledSelector, ...] = ()

    @classmethod
    def of(cls, include: tuple[Selector, ...], exclude: tuple[Selector, ...] = ()) -> LineMatcher:
        """Compile selector lists."""
        return cls(
            tuple(CompiledSelector.of(s) for s in include),
            tuple(CompiledSelector.of(s) for s in exclude),
        )

    @property
    def uses_price(self) -> bool:
        """Whether a unit-price bound takes part (else the product alone decides)."""
        return any(
            s.min_unit_price is not None or s.max_unit_price is not None
            for s in self.include + self.exclude
        )

    @property
    def selects_all(self) -> bool:
        """An empty matcher: every line."""
        return not self.include and not self.exclude

    def matches(self, product: Product, unit_price: int) -> bool:
        """True for a line this matcher selects."""
        if self.include:
            for selector in self.include:
                if selector.matches(product, unit_price):
                    break
            else:
                return False
        if not self.exclude:
            return True
        return not any(s.matches(product, unit_price) for s in self.exclude)
