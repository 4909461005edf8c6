"""Tactful: how to say it, where to say it and what to do next, for every customer-support turn."""

__version__ = "0.1.0"

__all__ = ["__version__"]
