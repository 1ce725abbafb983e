"""The contact center: appeals, their route and state machine, the knowledge base."""
