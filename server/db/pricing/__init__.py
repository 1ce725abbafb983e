"""Rule sets and the member context pricing reads."""
