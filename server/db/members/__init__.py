"""Members, their cards and contact history."""
