"""Storage of historical imports: staging through COPY, set-based apply, batches, rollback."""
