"""SQL of people and keys: operator users and their sessions (server/access/ has the rules)."""
