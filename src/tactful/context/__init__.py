"""Customer context: profile, consent and preferences, and the features a decision reads."""

from tactful.context.loader import CustomerContext, load_context

__all__ = ["CustomerContext", "load_context"]
