"""SQL of the domain events the jobs pass emits (the outbox tables live in server/db/outbox)."""
