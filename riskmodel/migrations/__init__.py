"""Alembic migrations of the storage schema (:mod:`riskmodel.store` runs them; see ``docs/storage.md``)."""
