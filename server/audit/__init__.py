"""The audit trail: who changed what, when, from which request (see README "Audit")."""
