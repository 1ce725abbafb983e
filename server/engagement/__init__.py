"""Engagement: coupons and surveys (issue 17). Domain only: no SQL, no protobuf."""
