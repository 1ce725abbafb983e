"""SQL of the engagement context: coupons and surveys (migration 0026)."""
