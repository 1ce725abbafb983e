"""Kopilka server: loyalty, pricing and gift certificates over gRPC."""
