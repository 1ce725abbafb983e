"""Feature wiring for the composition root: each module's `setup(app)` goes in FEATURE_SETUP."""
