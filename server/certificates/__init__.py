"""Gift certificates: types, number series, validity, spending rules, refunds, export.

Pure domain code: no gRPC, no SQL. The database side (the single-statement spend that makes
a certificate impossible to spend twice) lives in server/db/certificates/payments.py.
"""
