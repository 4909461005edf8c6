"""Policy as code: per-tenant YAML with CEL conditions, compiled once, evaluated purely per turn.

See ``docs/policy.md`` for the schema and the precedence rules.
"""

from tactful.policy.compiled import PERSONALISATION_OFF_NOTE, CompiledPolicy
from tactful.policy.diff import diff_policies
from tactful.policy.loader import load_policy, load_policy_file
from tactful.policy.source import content_hash
from tactful.policy.types import PolicyInput, PolicyResult

__all__ = [
    "PERSONALISATION_OFF_NOTE",
    "CompiledPolicy",
    "PolicyInput",
    "PolicyResult",
    "content_hash",
    "diff_policies",
    "load_policy",
    "load_policy_file",
]
