"""Customer context: profile, consent and preferences, and the features a decision reads."""

from tactful.context.aggregations import FeatureValue
from tactful.context.definitions import DefinitionSet, FeatureDefinition, Level, default_definitions
from tactful.context.events import FeatureEvent, decision_event, message_event, outcome_event
from tactful.context.feature_store import CustomerFacts, FeatureStore, FeatureVector, RebuildReport
from tactful.context.loader import ContextSource, CustomerContext, load_context

__all__ = [
    "ContextSource",
    "CustomerContext",
    "CustomerFacts",
    "DefinitionSet",
    "FeatureDefinition",
    "FeatureEvent",
    "FeatureStore",
    "FeatureValue",
    "FeatureVector",
    "Level",
    "RebuildReport",
    "decision_event",
    "default_definitions",
    "load_context",
    "message_event",
    "outcome_event",
]
