"""Feature wiring for the composition root: `build_app` builds each feature's parts and
calls its `attach(app, ...)` to add start/stop hooks."""
