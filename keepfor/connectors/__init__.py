"""Connectors: where records come from (one module per backend)."""
