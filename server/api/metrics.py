"""Prometheus metrics (go-grpc-prometheus names for RPCs, kopilka_ prefix for the domain)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)

GRPC_STARTED = Counter(
    "grpc_server_started", "RPCs started on the server.",
    ["grpc_type", "grpc_service", "grpc_method"],
)
GRPC_HANDLED = Counter(
    "grpc_server_handled", "RPCs completed on the server, by status code.",
    ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
)
GRPC_HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds", "Time from RPC start to its response, in seconds.",
    ["grpc_type", "grpc_service", "grpc_method"], buckets=LATENCY_BUCKETS,
)
AUTH_FAILURES = Counter(
    "kopilka_auth_failures", "Calls refused by authentication or authorization.", ["reason"]
)
JOB_STEP_FAILURES = Counter(
    "kopilka_job_step_failures", "Scheduled job steps that failed (the others still ran).",
    ["step"],
)
