"""Org structure and catalog: stores, networks, card types, products (pure domain)."""
