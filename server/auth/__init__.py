"""Who is calling and what they may do: principals, roles and permissions (no gRPC here)."""
