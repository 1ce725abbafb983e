"""SMS verification codes, templates and used tokens."""
