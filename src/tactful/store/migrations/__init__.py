"""Alembic migrations for the Tactful store, applied by ``tactful.store.migrate.upgrade_to_head``."""
