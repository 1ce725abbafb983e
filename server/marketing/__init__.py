"""Talking to members: consent with its proof, templates, lists, campaigns, triggers, and
the send gate (quiet hours, frequency cap) applied when the outbox sends, not when it queues.

Pure domain: no SQL, gRPC or HTTP here (server/db/marketing/ holds the SQL).
"""
