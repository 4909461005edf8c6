"""Settings. The only module that reads the environment."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from tactful.errors import InputRejected

DEFAULT_DATABASE_URL = "sqlite:///./tactful.db"
DEFAULT_BUS_URL = "memory://"
#: Signal tiers the engine may use (issues 3, 10); the richest one fitting a channel's budget (and
#: its language gate) answers. ``multilingual`` is on: it reads only turns the fast tier finds not
#: to be English, where its sentiment beats fast's by far (UMSAB val macro-F1 0.631 vs 0.372), in
#: ≈ 8–10 ms, so English turns keep the fast path. ``transformer`` is opt-in: on English dev
#: splits it gains 0.01–0.03 over ``fast`` (docs/models/) for ≈ 25 ms a turn, which would put every
#: English chat decision far above the default path's 5 ms p99. ``embed`` is opt-in too: its heads
#: score below ``fast``'s on every dev split.
DEFAULT_SIGNAL_TIERS: tuple[str, ...] = ("fast", "multilingual")
SIGNAL_TIER_NAMES = ("lexicon", "fast", "embed", "multilingual", "transformer")
_BUDGET_CHANNELS = ("voice", "chat", "sms", "email", "social", "social_dm")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


@dataclass(frozen=True)
class TracingSettings:
    """OpenTelemetry traces (issue 15), read from the standard ``OTEL_*`` variables. Off unless an
    exporter is asked for (``OTEL_TRACES_EXPORTER=otlp|console``) or an OTLP endpoint is set."""

    exporter: str = "none"  # none | otlp | console
    #: The full OTLP/HTTP traces URL (``…/v1/traces``).
    endpoint: str = "http://localhost:4318/v1/traces"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold credentials
    timeout_s: float = 10.0
    service_name: str = "tactful"
    resource_attributes: tuple[tuple[str, str], ...] = ()
    sampler: str = "parentbased_always_on"
    sampler_arg: float = 1.0
    #: The batch span processor: spans are exported from a background thread, never inline.
    schedule_delay_ms: int = 5000
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    export_timeout_ms: int = 30000

    @property
    def enabled(self) -> bool:
        return self.exporter != "none"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    bus_url: str = DEFAULT_BUS_URL
    #: Largest accepted HTTP request body; larger bodies get 413 before they are parsed.
    max_body_bytes: int = 64 * 1024
    #: Largest accepted message text, in characters after normalisation.
    max_text_chars: int = 4000
    max_sms_segments: int = 3
    #: Publish outbox events from a background thread, in batches, or inline right after each
    #: commit. None lets the caller choose: the HTTP service relays in the background (measured
    #: here: ~240 vs ~180 decisions/s over HTTP, the write lock taken once per batch instead of
    #: per request), scripts and the library inline (lower p99 single-threaded, no thread).
    background_relay: bool | None = None
    #: A policy file used for new tenants that have none published (the packaged default when None).
    default_policy_path: Path | None = None
    #: Per-API-key token bucket (issue 5): refill rate per second and bucket size. The defaults are a
    #: safety net well above one worker's decision rate, not a quota; see docs/security.md.
    rate_limit_per_second: int = 1000
    rate_limit_burst: int = 2000
    #: Where the buckets live: ``memory://`` (per process) or ``redis://host:port/db`` (shared).
    rate_limit_url: str = "memory://"
    #: The hot store (issue 13): Redis holding online feature state and event claims in front of
    #: the SQL store (``redis://[:password@]host:port/db`` or ``rediss://`` for TLS). None, the
    #: embedded default: no hot store, the decision path reads SQL. Keys start with the prefix.
    hot_store_url: str | None = field(default=None, repr=False)  # may hold a password
    hot_store_prefix: str = "tactful:"
    #: The PII vault's master key (issue 5), base64 of 32 random bytes; wraps every tenant key.
    #: Unset with SQLite: a key file is generated beside the database; with PostgreSQL the vault is
    #: off (values are tokenised but not kept). Never printed (``repr=False``).
    master_key: str | None = field(default=None, repr=False)
    #: The signal tiers to load (issue 3; docs/signals-tiers.md); missing extras are skipped.
    signal_tiers: tuple[str, ...] = DEFAULT_SIGNAL_TIERS
    #: Per-channel latency budgets (ms) for the signals stage, overriding the defaults in
    #: ``tactful.signals.selection.DEFAULT_BUDGETS_MS`` (voice 15, chat/sms/social 50, email 250).
    tier_budgets_ms: tuple[tuple[str, float], ...] = ()
    #: Logs (issue 15): ``json`` (one object per line, with trace and request ids) or ``text``; the
    #: root level and per-logger levels (``TACTFUL_LOG_LEVELS=tactful.engine=DEBUG,uvicorn.access=WARNING``).
    log_format: str = "json"
    log_level: str = "INFO"
    log_levels: tuple[tuple[str, str], ...] = ()
    #: Traces (issue 15); off by default.
    tracing: TracingSettings = field(default_factory=TracingSettings)
    #: Prometheus multiprocess mode (several workers behind one scrape): the directory every worker
    #: writes its samples to. prometheus-client reads ``PROMETHEUS_MULTIPROC_DIR`` itself at import.
    prometheus_multiproc_dir: Path | None = None
    #: Label decision metrics with the tenant id (one series per tenant); off for very many tenants.
    metrics_tenant_label: bool = True
    #: Console sign-in sessions last this long (minutes) without use.
    console_session_minutes: int = 480
    #: Experiments (issue 15): a process re-reads a tenant's running experiment at most this often
    #: (its own changes apply at once), and checks the guardrails at most this often per tenant.
    experiment_cache_seconds: float = 1.0
    experiment_check_seconds: float = 60.0
    #: Where generated key files go (the vault's master key, the audit head key): outside the
    #: database's folder, so a copy of that folder does not carry the keys that open it (issue 11).
    key_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "tactful")
    #: The key that signs audit chain heads and anchors (HMAC-SHA256), base64 of 32 random bytes;
    #: unset, a key file in ``key_dir`` is used (created on first use). Never printed.
    audit_key: str | None = field(default=None, repr=False)
    #: Each tenant's audit log is this many hash chains (a customer's entries always in one), so
    #: appends for different customers do not queue on one chain head across processes. None: 8 on
    #: PostgreSQL, 1 on SQLite (one writer at a time there anyway, so more chains would buy nothing).
    audit_shards: int | None = None

    @classmethod
    def from_env(cls, *, database_url: str | None = None) -> Settings:
        env = os.environ
        policy = env.get("TACTFUL_DEFAULT_POLICY")
        multiproc = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        return cls(
            database_url=database_url or env.get("TACTFUL_DATABASE_URL", DEFAULT_DATABASE_URL),
            bus_url=env.get("TACTFUL_BUS_URL", DEFAULT_BUS_URL),
            max_body_bytes=_positive_int(env, "TACTFUL_MAX_BODY_BYTES", 64 * 1024),
            max_text_chars=_positive_int(env, "TACTFUL_MAX_TEXT_CHARS", 4000),
            max_sms_segments=_positive_int(env, "TACTFUL_MAX_SMS_SEGMENTS", 3),
            background_relay=_flag(env, "TACTFUL_BACKGROUND_RELAY"),
            default_policy_path=Path(policy) if policy else None,
            rate_limit_per_second=_positive_int(env, "TACTFUL_RATE_LIMIT_PER_SECOND", 1000),
            rate_limit_burst=_positive_int(env, "TACTFUL_RATE_LIMIT_BURST", 2000),
            rate_limit_url=env.get("TACTFUL_RATE_LIMIT_URL", "memory://"),
            hot_store_url=env.get("TACTFUL_HOT_STORE_URL", "").strip() or None,
            hot_store_prefix=env.get("TACTFUL_HOT_STORE_PREFIX", "tactful:"),
            master_key=_master_key(env, "TACTFUL_MASTER_KEY"),
            signal_tiers=_signal_tiers(env, "TACTFUL_SIGNAL_TIERS"),
            tier_budgets_ms=_tier_budgets(env, "TACTFUL_TIER_BUDGETS"),
            log_format=_choice(env, "TACTFUL_LOG_FORMAT", ("json", "text"), "json"),
            log_level=_choice(env, "TACTFUL_LOG_LEVEL", _LOG_LEVELS, "INFO", upper=True),
            log_levels=_log_levels(env, "TACTFUL_LOG_LEVELS"),
            tracing=_tracing(env),
            prometheus_multiproc_dir=Path(multiproc) if multiproc else None,
            metrics_tenant_label=_flag(env, "TACTFUL_METRICS_TENANT_LABEL") is not False,
            console_session_minutes=_positive_int(env, "TACTFUL_CONSOLE_SESSION_MINUTES", 480),
            experiment_cache_seconds=_seconds(env, "TACTFUL_EXPERIMENT_CACHE_SECONDS", 1.0),
            experiment_check_seconds=_seconds(env, "TACTFUL_EXPERIMENT_CHECK_SECONDS", 60.0),
            key_dir=_key_dir(env),
            audit_key=_master_key(env, "TACTFUL_AUDIT_KEY"),
            audit_shards=_positive_int(env, "TACTFUL_AUDIT_SHARDS", 0) or None,
        )

    def as_environment(self) -> dict[str, str]:
        """The variables ``from_env`` reads, for processes started with these settings."""
        env = {
            "TACTFUL_DATABASE_URL": self.database_url,
            "TACTFUL_BUS_URL": self.bus_url,
            "TACTFUL_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TACTFUL_MAX_TEXT_CHARS": str(self.max_text_chars),
            "TACTFUL_MAX_SMS_SEGMENTS": str(self.max_sms_segments),
            "TACTFUL_RATE_LIMIT_PER_SECOND": str(self.rate_limit_per_second),
            "TACTFUL_RATE_LIMIT_BURST": str(self.rate_limit_burst),
            "TACTFUL_RATE_LIMIT_URL": self.rate_limit_url,
            "TACTFUL_SIGNAL_TIERS": ",".join(self.signal_tiers),
        }
        if self.hot_store_url is not None:
            env["TACTFUL_HOT_STORE_URL"] = self.hot_store_url
            env["TACTFUL_HOT_STORE_PREFIX"] = self.hot_store_prefix
        if self.tier_budgets_ms:
            env["TACTFUL_TIER_BUDGETS"] = ",".join(f"{c}={ms:g}" for c, ms in self.tier_budgets_ms)
        if self.background_relay is not None:
            env["TACTFUL_BACKGROUND_RELAY"] = "1" if self.background_relay else "0"
        if self.default_policy_path is not None:
            env["TACTFUL_DEFAULT_POLICY"] = str(self.default_policy_path)
        if self.master_key is not None:
            env["TACTFUL_MASTER_KEY"] = self.master_key
        env["TACTFUL_LOG_FORMAT"] = self.log_format
        env["TACTFUL_LOG_LEVEL"] = self.log_level
        if self.log_levels:
            env["TACTFUL_LOG_LEVELS"] = ",".join(f"{name}={level}" for name, level in self.log_levels)
        if self.prometheus_multiproc_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.prometheus_multiproc_dir)
        env["TACTFUL_METRICS_TENANT_LABEL"] = "1" if self.metrics_tenant_label else "0"
        env["TACTFUL_CONSOLE_SESSION_MINUTES"] = str(self.console_session_minutes)
        env["TACTFUL_EXPERIMENT_CACHE_SECONDS"] = f"{self.experiment_cache_seconds:g}"
        env["TACTFUL_EXPERIMENT_CHECK_SECONDS"] = f"{self.experiment_check_seconds:g}"
        env["TACTFUL_KEY_DIR"] = str(self.key_dir)
        if self.audit_key is not None:
            env["TACTFUL_AUDIT_KEY"] = self.audit_key
        if self.audit_shards is not None:
            env["TACTFUL_AUDIT_SHARDS"] = str(self.audit_shards)
        env.update(_tracing_environment(self.tracing))
        return env


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise InputRejected(f"{name} must be a positive whole number, not {raw!r}", code="invalid_setting")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    if name not in env:
        return None
    raw = env[name].strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise InputRejected(f"{name} must be 0 or 1, not {raw!r}", code="invalid_setting")
    return raw in {"1", "true", "yes"}


def _key_dir(env: Mapping[str, str]) -> Path:
    """``TACTFUL_KEY_DIR``, else ``$XDG_DATA_HOME/tactful``, else ``~/.local/share/tactful``."""
    explicit = env.get("TACTFUL_KEY_DIR", "").strip()
    if explicit:
        return Path(explicit)
    data_home = env.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home else Path.home() / ".local" / "share"
    return base / "tactful"


def _master_key(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        size = len(base64.b64decode(raw, validate=True))
    except ValueError:
        size = -1
    if size != 32:  # the value itself never goes into the message
        raise InputRejected(f"{name} must be base64 of 32 random bytes", code="invalid_setting")
    return raw


def _signal_tiers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return DEFAULT_SIGNAL_TIERS
    tiers = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [t for t in tiers if t not in SIGNAL_TIER_NAMES]
    if not tiers or unknown:
        raise InputRejected(
            f"{name} must list tiers from {', '.join(SIGNAL_TIER_NAMES)} separated by commas, not {raw!r}",
            code="invalid_setting",
        )
    return tiers


def _tier_budgets(env: Mapping[str, str], name: str) -> tuple[tuple[str, float], ...]:
    """``voice=15,email=250``: per-channel budgets in ms (positive, at most a minute)."""
    raw = env.get(name)
    if raw is None:
        return ()
    budgets: dict[str, float] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        channel, _, value = part.partition("=")
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if channel.strip() not in _BUDGET_CHANNELS or not 0 < ms <= 60_000:
            raise InputRejected(
                f"{name} must look like 'voice=15,email=250' (channels {', '.join(_BUDGET_CHANNELS)}; "
                f"ms above 0 and at most 60000), not {raw!r}",
                code="invalid_setting",
            )
        budgets[channel.strip()] = ms
    return tuple(budgets.items())


def _choice(
    env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str, *, upper: bool = False
) -> str:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in allowed:
        raise InputRejected(
            f"{name} must be one of {', '.join(allowed)}, not {raw!r}", code="invalid_setting"
        )
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:
        raise InputRejected(f"{name} must be seconds from 0 to 86400, not {raw!r}", code="invalid_setting")
    return value


def _pairs(env: Mapping[str, str], name: str, *, decode: bool = False) -> tuple[tuple[str, str], ...]:
    """``a=1,b=2`` (the OTEL list format; values percent-decoded when ``decode``)."""
    raw = env.get(name, "").strip()
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            # The value may be a credential: name the variable, never echo it.
            raise InputRejected(f"{name} must look like 'key=value,key2=value2'", code="invalid_setting")
        pairs.append((key.strip(), unquote(value.strip()) if decode else value.strip()))
    return tuple(pairs)


def _log_levels(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    levels = tuple((logger, level.upper()) for logger, level in _pairs(env, name))
    bad = [f"{logger}={level}" for logger, level in levels if level not in _LOG_LEVELS]
    if bad:
        raise InputRejected(
            f"{name}: levels must be one of {', '.join(_LOG_LEVELS)}, not {', '.join(bad)}",
            code="invalid_setting",
        )
    return levels


def _otel_number(env: Mapping[str, str], names: tuple[str, ...], default: float, high: float) -> float:
    for name in names:
        raw = env.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 <= value <= high:
            raise InputRejected(
                f"{name} must be a number from 0 to {high:g}, not {raw!r}", code="invalid_setting"
            )
        return value
    return default


def _tracing(env: Mapping[str, str]) -> TracingSettings:
    """The standard OpenTelemetry variables (only OTLP over HTTP/protobuf is supported)."""
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint and base:
        endpoint = base.rstrip("/") + "/v1/traces"  # the spec's rule for the signal-agnostic URL
    exporters = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    unknown = [e for e in exporters if e not in ("otlp", "console", "none")]
    if unknown or len(exporters) > 1:
        raise InputRejected("OTEL_TRACES_EXPORTER must be one of otlp, console, none", code="invalid_setting")
    # Off by default: only an explicit exporter, or an OTLP endpoint, turns tracing on.
    exporter = exporters[0] if exporters else ("otlp" if endpoint else "none")
    if (_flag(env, "OTEL_SDK_DISABLED") or False) is True:
        exporter = "none"
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if exporter == "otlp" and protocol.strip() != "http/protobuf":
        raise InputRejected(
            f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r} is not supported; use http/protobuf",
            code="invalid_setting",
        )
    sampler = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    if sampler not in _SAMPLERS:
        raise InputRejected(
            f"OTEL_TRACES_SAMPLER must be one of {', '.join(_SAMPLERS)}, not {sampler!r}",
            code="invalid_setting",
        )
    headers_var = (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        if "OTEL_EXPORTER_OTLP_TRACES_HEADERS" in env
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    timeouts = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    defaults = TracingSettings()
    return TracingSettings(
        exporter=exporter,
        endpoint=endpoint or defaults.endpoint,
        headers=_pairs(env, headers_var, decode=True),
        timeout_s=_otel_number(env, timeouts, defaults.timeout_s * 1000, 600_000) / 1000,  # ms in the spec
        service_name=env.get("OTEL_SERVICE_NAME", "").strip() or defaults.service_name,
        resource_attributes=_pairs(env, "OTEL_RESOURCE_ATTRIBUTES", decode=True),
        sampler=sampler,
        sampler_arg=_otel_number(env, ("OTEL_TRACES_SAMPLER_ARG",), 1.0, 1.0),
        schedule_delay_ms=int(_otel_number(env, ("OTEL_BSP_SCHEDULE_DELAY",), 5000, 3_600_000)),
        max_queue_size=max(1, int(_otel_number(env, ("OTEL_BSP_MAX_QUEUE_SIZE",), 2048, 10_000_000))),
        max_export_batch_size=max(
            1, int(_otel_number(env, ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",), 512, 1_000_000))
        ),
        export_timeout_ms=int(_otel_number(env, ("OTEL_BSP_EXPORT_TIMEOUT",), 30000, 3_600_000)),
    )


def _tracing_environment(t: TracingSettings) -> dict[str, str]:
    env = {
        "OTEL_TRACES_EXPORTER": t.exporter,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": t.endpoint,
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": f"{t.timeout_s * 1000:g}",
        "OTEL_SERVICE_NAME": t.service_name,
        "OTEL_TRACES_SAMPLER": t.sampler,
        "OTEL_TRACES_SAMPLER_ARG": f"{t.sampler_arg:g}",
        "OTEL_BSP_SCHEDULE_DELAY": str(t.schedule_delay_ms),
        "OTEL_BSP_MAX_QUEUE_SIZE": str(t.max_queue_size),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": str(t.max_export_batch_size),
        "OTEL_BSP_EXPORT_TIMEOUT": str(t.export_timeout_ms),
    }
    if t.headers:
        env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = ",".join(f"{k}={quote(v)}" for k, v in t.headers)
    if t.resource_attributes:
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(f"{k}={quote(v)}" for k, v in t.resource_attributes)
    return env


def default_policy_file() -> Path:
    """The documented default policy shipped with the package."""
    return Path(__file__).parent / "policy" / "default.yaml"
