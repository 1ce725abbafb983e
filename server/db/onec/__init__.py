"""The 1C exchange's state in the database (migration 0025)."""
