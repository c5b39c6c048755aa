"""Alembic revisions of the storage schema, oldest first (``0001_initial`` creates every table)."""
