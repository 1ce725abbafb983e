"""Code generated from proto/kopilka/v1 by scripts/gen_proto.py; do not edit."""
