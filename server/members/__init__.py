"""Members of the loyalty program and their cards (pure domain: no gRPC, no SQL)."""
