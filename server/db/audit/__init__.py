"""Storage of the audit trail and of manual money requests (migration 0016)."""
