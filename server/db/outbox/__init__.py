"""The transactional outbox and the mailing history."""
