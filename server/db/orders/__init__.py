"""Orders storage (migration 0017)."""
