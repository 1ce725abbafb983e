"""One servicer module per proto service."""
