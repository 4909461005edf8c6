"""The store contract fixtures (SQLite and PostgreSQL) reused for the learning tables."""

from tests.store.conftest import backend, clock, make_decision, store

__all__ = ["backend", "clock", "make_decision", "store"]
