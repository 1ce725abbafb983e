"""Transactional outbox: messages and domain events written with the business change,
delivered after commit by a dispatcher that retries with backoff.

Pure orchestration: storage comes in through `OutboxStore` (server/db/outbox/repo.py),
channels and event handlers through the plugin host; no SQL, gRPC or pluggy here.
"""
