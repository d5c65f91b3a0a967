"""Civic indicators warehouse: Dagster code location and the `civic` CLI."""
