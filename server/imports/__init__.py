"""Historical data migration (issue 19): parse, validate and reconcile source files.

Domain only: no SQL (server/db/imports/ stages and applies), no gRPC.
"""
