"""`drift catalog build`: the fix catalog from a product's git history and the vendor's fix register (its output is a catalog, hence its place)."""
