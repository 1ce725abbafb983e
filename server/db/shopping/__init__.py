"""Storage of the shopping context: baskets, wishlists, site events, stock, pair counts."""
