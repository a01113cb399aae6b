"""The engine: how pushes, queries, fetches and checks run against a store (each module
takes the store, cache and pool it needs; none takes the Lake)."""
