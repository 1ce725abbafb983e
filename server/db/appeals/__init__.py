"""The contact center in PostgreSQL: topics, appeals, notes, history, knowledge base."""
