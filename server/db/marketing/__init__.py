"""SQL of the marketing context (migration 0020)."""
