"""Tests for tactful.store."""
