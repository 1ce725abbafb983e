"""Signing of self-contained tokens (calculations, verification tokens)."""
