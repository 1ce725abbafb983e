"""Shopping: the online store's baskets, members' wishlists and footprint, recommendations.

Pure domain code: storage comes in through `ShoppingRepository` (server/db/shopping/repo.py),
member lookup through a callable; no SQL, gRPC or protobuf here. Events it publishes
(basket.abandoned, wishlist.item_promoted, wishlist.item_restocked) are documented in
docs/shopping.md.
"""
