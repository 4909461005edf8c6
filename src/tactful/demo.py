"""``tactful demo``: seed a demo tenant, replay real customer messages, show what was decided.

The messages are the customer turns of the Twitter customer-care conversations in
``shared/data/twitter-customer-care-cdp/dev.json`` when that folder is present beside the project;
otherwise a small sample written by us (``demo_messages.json``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tactful.config import Settings
from tactful.domain import (
    Channel,
    ConversationId,
    Customer,
    CustomerId,
    CustomerProfile,
    Decision,
    EventId,
    InboundMessage,
    PersonalisationIntensity,
    Preferences,
    QuietHours,
    TenantId,
    Tier,
)
from tactful.engine import Engine
from tactful.tenants import create_tenant, issue_key

DEMO_TENANT = "demo"
SAMPLE = Path(__file__).parent / "demo_messages.json"
CDP_RELATIVE = Path("shared/data/twitter-customer-care-cdp/dev.json")


@dataclass(frozen=True)
class DemoCustomer:
    customer_id: str
    profile: CustomerProfile
    preferences: Preferences
    channel: Channel  # the channel this customer writes on in the replay
    note: str


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "cust-ava",
        CustomerProfile(tier=Tier.VIP, tenure_days=2100, time_zone="America/New_York"),
        Preferences(preferred_channel=Channel.VOICE),
        Channel.SOCIAL,
        "VIP, prefers calls",
    ),
    DemoCustomer(
        "cust-ben",
        CustomerProfile(time_zone="Europe/London"),
        Preferences(opted_out=frozenset({Channel.SMS, Channel.VOICE})),
        Channel.SOCIAL,
        "opted out of SMS and voice",
    ),
    DemoCustomer(
        "cust-chen",
        CustomerProfile(tier=Tier.PREMIUM, time_zone="Asia/Shanghai"),
        Preferences(quiet_hours=QuietHours(start=time(22), end=time(7))),
        Channel.SMS,
        "texts us; quiet hours 22–07 Shanghai",
    ),
    DemoCustomer(
        "cust-dara",
        CustomerProfile(time_zone="Australia/Sydney"),
        Preferences(personalisation=PersonalisationIntensity.OFF),
        Channel.CHAT,
        "personalisation off",
    ),
    DemoCustomer(
        "cust-eli",
        CustomerProfile(time_zone="America/Los_Angeles", accessibility_needs=("hearing_impaired",)),
        Preferences(preferred_channel=Channel.EMAIL),
        Channel.EMAIL,
        "hearing impaired, email",
    ),
    DemoCustomer(
        "cust-fay",
        CustomerProfile(time_zone="Europe/Berlin"),
        Preferences(do_not_contact=True),
        Channel.SOCIAL,
        "do-not-contact",
    ),
    DemoCustomer(
        "cust-gus",
        CustomerProfile(tier=Tier.VIP, time_zone="Asia/Kolkata"),
        Preferences(personalisation=PersonalisationIntensity.FULL),
        Channel.VOICE,
        "VIP on the phone",
    ),
    DemoCustomer(
        "cust-hal",
        CustomerProfile(tenure_days=12, time_zone="UTC"),
        Preferences(personalisation=PersonalisationIntensity.LOW),
        Channel.SOCIAL_DM,
        "new, low personalisation, DMs",
    ),
)


def bench_message(
    tenant_id: TenantId, texts: list[str], i: int, sent_at: datetime, prefix: str = "b"
) -> InboundMessage:
    """The ``i``-th message of a bench run: the demo customers and ``texts`` in turn, 97
    conversations; one builder so every bench decides the same stream."""
    c = DEMO_CUSTOMERS[i % len(DEMO_CUSTOMERS)]
    return InboundMessage(
        event_id=EventId(f"{prefix}{i}"),
        tenant_id=tenant_id,
        customer_id=CustomerId(c.customer_id),
        conversation_id=ConversationId(f"k{i % 97}"),
        channel=c.channel,
        text=texts[i % len(texts)],
        sent_at=sent_at,
    )


@dataclass(frozen=True)
class ReplayMessage:
    conversation_id: str
    text: str
    sent_at: datetime
    company: str


def find_cdp(start: Path) -> Path | None:
    """Look for shared/data beside the project (the checkout's parent folders)."""
    for folder in (start, *start.parents):
        candidate = folder / CDP_RELATIVE
        if candidate.is_file():
            return candidate
    return None


def load_messages(path: Path | None) -> tuple[list[ReplayMessage], str]:
    source = path or find_cdp(Path.cwd()) or find_cdp(Path(__file__).resolve())
    if source is None:
        return _load(SAMPLE), f"{SAMPLE.name} (sample written for the demo)"
    return _load(source), str(source)


def _load(path: Path) -> list[ReplayMessage]:
    conversations = json.loads(path.read_text(encoding="utf-8"))
    messages: list[ReplayMessage] = []
    for conv in conversations:
        header = conv["dialogHeader"]
        for turn in conv["dialogContent"]:
            if "client" not in turn:
                continue  # agent turns: the demo replays only what customers wrote
            messages.append(
                ReplayMessage(
                    conversation_id=header["sessionID"],
                    text=turn["message"],
                    sent_at=datetime.fromisoformat(turn["datetime"].replace("Z", "+00:00")).astimezone(UTC),
                    company=header.get("company", ""),
                )
            )
    messages.sort(key=lambda m: m.sent_at)
    return messages


def seed(engine: Engine) -> tuple[TenantId, str]:
    """Create (or reuse) the demo tenant and its customers; return the tenant id and a fresh API key."""
    store = engine.store
    tenant = store.find_tenant_by_name(DEMO_TENANT)
    if tenant is None:
        created = create_tenant(store, DEMO_TENANT)
        tenant_id, api_key = TenantId(created.tenant.tenant_id), created.api_key
    else:
        tenant_id = TenantId(tenant.tenant_id)
        api_key = issue_key(store, tenant_id, "admin")
    for c in DEMO_CUSTOMERS:
        store.put_customer(
            Customer(
                tenant_id=tenant_id,
                customer_id=CustomerId(c.customer_id),
                profile=c.profile,
                preferences=c.preferences,
            )
        )
    return tenant_id, api_key


class ReplayClock:
    """The demo decides each message at the moment it was sent, so quiet hours and the fatigue cap
    behave as they would have then."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def replay(
    engine: Engine, clock: ReplayClock, tenant_id: TenantId, messages: list[ReplayMessage]
) -> Iterator[tuple[DemoCustomer, ReplayMessage, Decision]]:
    for i, msg in enumerate(messages):
        customer = DEMO_CUSTOMERS[hash_index(msg.conversation_id, len(DEMO_CUSTOMERS))]
        clock.now = msg.sent_at
        decision = engine.decide(
            InboundMessage(
                event_id=EventId(f"demo-{msg.conversation_id}-{i}"),
                tenant_id=tenant_id,
                customer_id=CustomerId(customer.customer_id),
                conversation_id=ConversationId(msg.conversation_id),
                channel=customer.channel,
                text=msg.text,
                sent_at=msg.sent_at,
            )
        )
        yield customer, msg, decision


def hash_index(key: str, n: int) -> int:
    # A stable assignment (Python's hash() is salted per process).
    return sum(key.encode()) % n


def _tone(d: Decision) -> str:
    t = d.tone
    return f"{t.formality:.1f} {t.warmth:.1f} {t.empathy:.1f} {t.brevity:.1f} {t.directness:.1f}\n{t.style}"


def _why(d: Decision) -> str:
    """The rules that shaped this decision most: guardrails and action rules first."""
    rules = d.explanation.rules_fired
    ranked = [r for r in rules if r.startswith("guardrail.")] + [
        r for r in rules if not r.startswith("guardrail.")
    ]
    shown = [r for r in ranked if r != "mirror-formality"][:3] or list(ranked[:1])
    return ", ".join(shown) or "—"


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_demo(settings: Settings, *, data_path: Path | None, show: int, console: Console) -> bool:
    """Run the demo; True when the audit chain verified at the end."""
    clock = ReplayClock()
    engine = Engine.from_settings(settings, clock=clock)
    try:
        tenant_id, api_key = seed(engine)
        messages, source = load_messages(data_path)
        console.print(f"[bold]Tactful demo[/]: replaying {len(messages)} customer messages from {source}")
        table = Table(header_style="bold", show_lines=True)
        for col, width in (
            ("customer", 16),
            ("message", 38),
            ("channel", 12),
            ("action", 14),
            ("tone F W E B D", 14),
            ("why", 30),
            ("reply", 52),
        ):
            table.add_column(col, max_width=width, overflow="fold")
        actions: Counter[str] = Counter()
        channels: Counter[str] = Counter()
        degraded = 0
        latencies: list[float] = []
        for i, (customer, msg, d) in enumerate(replay(engine, clock, tenant_id, messages)):
            actions[d.action.type.value] += 1
            channels[d.channel.primary.value if d.channel.primary else "none"] += 1
            degraded += d.degraded
            latencies.append(d.latency_ms.get("total", 0.0))
            if i < show:
                out_channel = d.channel.primary.value if d.channel.primary else "—"
                table.add_row(
                    f"{customer.customer_id}\n[dim]{customer.note}[/]",
                    _clip(msg.text, 110),
                    f"{d.inbound_channel.value}\n→ {out_channel}",
                    d.action.type.value,
                    _tone(d),
                    _why(d),
                    _clip(d.reply.text, 150) or "[dim](nothing sent)[/]",
                )
        console.print(table)
        latencies.sort()
        p50 = latencies[len(latencies) // 2] if latencies else 0.0
        console.print(f"decisions: {len(latencies)}; actions: {dict(actions.most_common())}")
        console.print(
            f"channels: {dict(channels.most_common())}; degraded: {degraded}; engine latency p50 {p50:.2f} ms"
        )
        results = engine.store.audit.verify(tenant_id)
        ok = all(r.ok for r in results)
        console.print(
            f"audit chain: {'[green]verified[/]' if ok else '[red]BROKEN[/]'} "
            f"({sum(r.checked for r in results)} entries)"
        )
        db = settings.database_url
        console.print(f"\ndemo tenant API key (shown once): [bold]{api_key}[/]")
        console.print(f"start the server:  [bold]TACTFUL_DATABASE_URL={db} .venv/bin/tactful serve[/]")
        console.print(
            "then call it:      curl -s localhost:8000/v1/messages -H 'Authorization: Bearer "
            f"{api_key}' -H 'Content-Type: application/json' -d '{{\"customer_id\": \"cust-ava\", "
            '"conversation_id": "c1", "channel": "sms", "text": "I was charged twice, please fix it"}\'',
            highlight=False,
            soft_wrap=True,
        )
        return ok
    finally:
        engine.close()
