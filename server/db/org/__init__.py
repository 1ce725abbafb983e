"""Stores, networks, card types and the catalog."""
