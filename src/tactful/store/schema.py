"""The relational schema, as SQLAlchemy Core tables shared by every SQL backend.

Every key starts with ``tenant_id`` because every query is tenant-scoped: the indexes then serve
the queries directly and one tenant's rows sit together. JSON is stored as TEXT (not JSONB) so
what is written is exactly what is read back on SQLite and PostgreSQL alike; the audit chain's
hashes depend on that.

The Alembic migrations under ``migrations/versions`` are the source of truth for the database;
this module must describe the same schema (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

# Named constraints keep migrations and error messages stable across backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime that is always stored and returned in UTC.

    SQLite has no time zones and PostgreSQL returns ``timestamptz`` in the session's zone; pinning
    everything to UTC makes both backends return equal values, which the audit hashes rely on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass a timezone-aware one")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME storage drops the zone anyway; make that explicit.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
OutboxId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(naming_convention=NAMING_CONVENTION)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    UniqueConstraint("name"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("revoked", Boolean(create_constraint=False), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key_id"),
    # Authentication looks keys up by hash alone, before the tenant is known.
    UniqueConstraint("key_hash"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("profile", Text(), nullable=False),
    Column("preferences", Text(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

policies = Table(
    "policies",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("active", Boolean(create_constraint=False), nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    UniqueConstraint("tenant_id", "content_hash"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    # At most one active version per tenant, enforced by the database.
    Index(
        "uq_policies_active",
        "tenant_id",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

decisions = Table(
    "decisions",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("conversation_id", String(128), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("proactive", Boolean(create_constraint=False), nullable=False),
    Column("document", Text(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "decision_id"),
    # Idempotency: one decision per inbound event per tenant.
    UniqueConstraint("tenant_id", "event_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_decisions_customer_time", "tenant_id", "customer_id", "decided_at"),
)
# The fatigue cap counts a customer's proactive decisions of the last 24 h on every decision: a
# partial index keeps that a short range scan however many replies the customer has had.
Index(
    "ix_decisions_proactive",
    decisions.c.tenant_id,
    decisions.c.customer_id,
    decisions.c.decided_at,
    sqlite_where=decisions.c.proactive.is_(True),
    postgresql_where=decisions.c.proactive.is_(True),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("value", Float(), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "event_id"),
    ForeignKeyConstraint(["tenant_id", "decision_id"], ["decisions.tenant_id", "decisions.decision_id"]),
    Index("ix_outcomes_decision", "tenant_id", "decision_id"),
)

# A tenant's log is ``shard``-many hash chains (store/signing.py); ``seq`` counts within a chain.
audit_log = Table(
    "audit_log",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("shard", Integer(), nullable=False, autoincrement=False),
    Column("seq", BigInteger(), nullable=False, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text(), nullable=False),  # canonical JSON, hashed byte for byte
    Column("created_at", UtcDateTime(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "shard", "seq"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# One row per chain (tenant, shard): the chain's tip, signed under the audit key. Appends lock it,
# which serialises one chain's appends, and verification compares it with the last entry to detect
# a truncated tail. Chain 0's row is made with the tenant; the others on their first append.
audit_heads = Table(
    "audit_heads",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("shard", Integer(), nullable=False, autoincrement=False),
    Column("seq", BigInteger(), nullable=False, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(64), nullable=True),  # None only for heads written before 0008
    PrimaryKeyConstraint("tenant_id", "shard"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# Every change of a customer's consent preferences, from any path (SMS keyword, API PUT/PATCH,
# erasure), with who, when, before and after; ``change_id`` is the inbound event id for keyword
# changes, so a re-delivered or concurrently duplicated event changes consent once (issue 11).
consent_changes = Table(
    "consent_changes",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("change_id", String(160), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("source", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("before", Text(), nullable=False),
    Column("after", Text(), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "change_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_consent_changes_time", "tenant_id", "changed_at"),
)

# Transactional outbox: events written with the state change, relayed to the bus afterwards.
outbox = Table(
    "outbox",
    metadata,
    Column("id", OutboxId, nullable=False, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("event", Text(), nullable=False),
    # A decision's event is stored without its payload, which is the decision's stored document:
    # the claim splices it back (sql_outbox.py), so a decision's commit writes its document once
    # fewer. NULL for an event stored whole.
    Column("decision_id", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=True),  # a relay's lease; expired leases are re-claimed
    Column("published_at", UtcDateTime(), nullable=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    # The relay only ever scans unpublished rows in id order.
    Index(
        "ix_outbox_pending",
        "id",
        sqlite_where=text("published_at IS NULL"),
        postgresql_where=text("published_at IS NULL"),
    ),
)

# --- issue 3 (signals): tenant intent models -------------------------------------------------------

# A tenant's labelled intent examples (appended by uploads, numbered per tenant) and the intent
# models trained on them: the newest version is the one in use; older ones stay for rollback/audit.
intent_examples = Table(
    "intent_examples",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False, autoincrement=False),
    Column("text", Text, nullable=False),
    Column("label", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)
intent_models = Table(
    "intent_models",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("version", Integer, nullable=False, autoincrement=False),
    Column("model", LargeBinary, nullable=False),  # an .npz archive (no pickles), see tenant_intents.py
    Column("labels", Text, nullable=False),  # JSON list
    Column("threshold", Float, nullable=False),
    Column("n_examples", Integer, nullable=False),
    Column("metrics", Text, nullable=False),  # JSON: held-out figures measured when trained
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 4 (learning loop) ---------------------------------------------------------------------

# One row per decision the learner saw (shadow or live): the arms the policy left, the arm used and
# its propensity after masking, the context features, and — once the reward window has closed — the
# reward. Off-policy evaluation reads these back; the window closer scans open rows by due time.
learning_events = Table(
    "learning_events",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("arms", Text(), nullable=False),  # JSON list of arm keys, "channel/style"
    Column("chosen", String(64), nullable=False),
    Column("propensity", Float(), nullable=False),
    Column("rules_arm", String(64), nullable=False),
    Column("greedy_arm", String(64), nullable=False),
    Column("features", Text(), nullable=False),  # JSON object, name -> token
    Column("closed", Boolean(create_constraint=False), nullable=False),
    Column("reward", Float(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    # The early estimate (learning.reward.early): when the partial reward is due, and its value.
    Column("early_due_at", UtcDateTime(), nullable=True),
    Column("partial_reward", Float(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "decision_id"),
    ForeignKeyConstraint(["tenant_id", "decision_id"], ["decisions.tenant_id", "decisions.decision_id"]),
    Index("ix_learning_events_closed_due_at", "closed", "due_at"),
    # Only the rows still waiting for their partial reward: it stays small (an early horizon's
    # worth of decisions) and a row leaves it when its partial reward is set.
    Index(
        "ix_learning_events_early_due",
        "early_due_at",
        sqlite_where=text("early_due_at IS NOT NULL AND partial_reward IS NULL"),
        postgresql_where=text("early_due_at IS NOT NULL AND partial_reward IS NULL"),
    ),
)

# A tenant's model as VW saved it; the newest is what a restart resumes from. Rollback appends a
# copy of an older one, so the history stays linear and every version remains addressable.
learning_snapshots = Table(
    "learning_snapshots",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False, autoincrement=False),
    Column("model", LargeBinary(), nullable=False),
    Column("args", String(200), nullable=False),
    Column("learned", BigInteger(), nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# The per-tenant learning mode set by `tactful learn mode`; overrides the policy's learning.mode.
learning_settings = Table(
    "learning_settings",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 5 (governance): PII vault -------------------------------------------------------------

# Tenant keys, wrapped by the master key; ``master_key_id`` names which master key, so a wrong one
# is reported as such. Customer data keys, wrapped by the tenant key: deleting one is the erasure.
vault_tenant_keys = Table(
    "vault_tenant_keys",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("wrapped_key", LargeBinary(), nullable=False),
    Column("master_key_id", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

vault_customer_keys = Table(
    "vault_customer_keys",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("wrapped_key", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# One row per (customer, token): AES-GCM ciphertext (nonce ‖ ciphertext ‖ tag) of the raw value.
vault_values = Table(
    "vault_values",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("token", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sealed", LargeBinary(), nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "customer_id", "token"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# When a customer was last erased, under a pseudonymous reference (HMAC of the id): the export
# leaves out what came before it (decisions are kept, tokenised, for the audit chain).
vault_erasures = Table(
    "vault_erasures",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("subject_ref", String(64), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "subject_ref"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 5 (governance): keys, rate limits, retention ------------------------------------------

# Authentication finds a key by the id it carries (``tk_<key_id>_<secret>``) before the tenant is known.
Index("uq_api_keys_key_id", api_keys.c.key_id, unique=True)

# How long each kind of record is kept, per tenant (kinds: tactful.governance.retention.PURGE_TARGETS).
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("days", Integer(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 6 (context): events and feature store -------------------------------------------------

# The event log features are computed from (minimised: no message text), idempotent by event id.
events = Table(
    "events",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("event_id", String(160), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),  # event time: the order features fold in
    Column("recorded_at", UtcDateTime(), nullable=False),  # arrival: what "as known at" reads filter on
    Column("payload", Text(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "event_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_events_customer_time", "tenant_id", "customer_id", "occurred_at"),
)

# Published feature definition sets; status: published → backfilled → active → retired.
feature_definitions = Table(
    "feature_definitions",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# The materialised per-customer state (one row per definition version), kept in sync with the log.
# Consent-level and personal state sit in separate columns so a read for a customer whose
# personalisation is off never fetches the personal one.
feature_state = Table(
    "feature_state",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("consent_state", Text(), nullable=False),
    Column("personal_state", Text(), nullable=True),  # NULL: not computed (personalisation off)
    Column("computed_at", UtcDateTime(), nullable=False),
    # Up by one with every write of the row (issue 13): the hot store's copy is current when its
    # seq is this one, and an older write never overwrites a newer copy (store/redis.py).
    Column("seq", BigInteger(), nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant_id", "customer_id", "version"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 15 (console, experiments) ---------------------------------------------------------------

# The console's and the experiments' read model: one row per decision with what charts, filters and
# guardrails group by, plus outcome flags set as outcomes arrive (idempotent: a flag set twice is
# still set). Written in the decision's own transaction; purged with the decisions.
decision_facts = Table(
    "decision_facts",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("inbound_channel", String(16), nullable=False),
    Column("channel", String(16), nullable=False),  # the primary channel, "none" for no contact
    Column("action", String(32), nullable=False),
    Column("rule_id", String(200), nullable=True),  # the rule that chose the action
    Column("rules", Text(), nullable=False),  # every rule fired, as "|a|b|" (filterable with LIKE)
    Column("style", String(32), nullable=False),  # the tone style
    Column("degraded", Boolean(create_constraint=False), nullable=False),
    Column("degradations", Text(), nullable=False),  # JSON list of "stage: reason" (numbers taken out)
    Column("policy_version", String(64), nullable=False),
    Column("experiment_id", String(64), nullable=True),
    Column("arm", String(16), nullable=True),
    Column("latency_ms", Float(), nullable=False),
    Column("learner_mode", String(16), nullable=True),
    Column("learner_agrees", Boolean(create_constraint=False), nullable=True),
    Column("csat", Float(), nullable=True),
    Column("replied", Boolean(create_constraint=False), nullable=False),
    Column("resolved", Boolean(create_constraint=False), nullable=False),
    Column("recontact", Boolean(create_constraint=False), nullable=False),
    Column("complaint", Boolean(create_constraint=False), nullable=False),
    Column("opted_out", Boolean(create_constraint=False), nullable=False),
    Column("escalated", Boolean(create_constraint=False), nullable=False),
    Column("last_outcome_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "decision_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_decision_facts_time", "tenant_id", "decided_at"),
    Index("ix_decision_facts_experiment", "tenant_id", "experiment_id", "arm"),
)

# A/B tests and canaries of a policy version (or a learner mode) against the active one. At most
# one runs per tenant; ``revision`` makes every state change a compare-and-set.
experiments = Table(
    "experiments",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("experiment_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # ab | canary
    Column("candidate_version", Integer(), nullable=True),
    Column("candidate_mode", String(16), nullable=True),
    Column("control_version", Integer(), nullable=False),
    Column("share", Float(), nullable=False),
    Column("step", Integer(), nullable=False),
    Column("state", String(16), nullable=False),  # running | rolled_back | promoted | stopped
    Column("settings", Text(), nullable=False),  # JSON: steps, guardrails, samples
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("step_started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(200), nullable=True),
    Column("result", Text(), nullable=True),  # JSON: why it ended, the statistics, the exposure
    Column("revision", Integer(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "experiment_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index(
        "uq_experiments_running",
        "tenant_id",
        unique=True,
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    ),
)

# Console sign-ins: the cookie holds a random token; only its SHA-256 is kept. The key it was made
# from is re-checked on every request, so revoking the key ends the session at once.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", String(64), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("session_hash"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# --- issue 14 (channels): provider credentials, the outbound delivery outbox, the knowledge base --

# A tenant's credentials for one provider ("twilio", "smtp", "slack", "llm"): AES-GCM under a key
# derived from the tenant's vault key (tactful.channels.credentials); never stored or returned in clear.
channel_credentials = Table(
    "channel_credentials",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("sealed", LargeBinary(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "provider"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)

# One row per decision to deliver: the primary key makes a second enqueue of the same decision a
# no-op, so a retried send sends once. The reply is kept tokenised and the recipients sealed; the
# worker re-inserts the customer's values from the vault at send time.
deliveries = Table(
    "deliveries",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("reply", Text(), nullable=False),
    Column("recipients", LargeBinary(), nullable=False),
    Column("fallback_from", String(16), nullable=True),
    Column("notes", Text(), nullable=False),
    Column("provider_message_id", String(128), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("tenant_id", "decision_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)
Index("ix_deliveries_due", deliveries.c.state, deliveries.c.next_attempt_at)
Index("ix_deliveries_provider_message", deliveries.c.tenant_id, deliveries.c.provider_message_id)

# The tenant's knowledge base for grounded replies: articles cut into chunks, each with its
# embedding (float32, L2-normalised) from the project's own encoder.
knowledge_chunks = Table(
    "knowledge_chunks",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("chunk_id", String(64), nullable=False),
    Column("source", String(300), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("encoder", String(64), nullable=False),
    Column("embedding", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "chunk_id"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)
Index("ix_knowledge_chunks_source", knowledge_chunks.c.tenant_id, knowledge_chunks.c.source)
