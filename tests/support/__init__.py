"""Test helpers shared across test packages (private servers for fault injection)."""
