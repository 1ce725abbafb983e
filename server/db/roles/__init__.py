"""Storage of roles (server/auth/roles.py)."""
