"""People and keys: operator users (passwords, TOTP, lockout, sessions) and API key rules.

Pure rules with an injected `now`; storage behind server/access/repository.py (SQL in
server/db/access/), the gRPC edge in server/api/servicers/users.py.
"""
