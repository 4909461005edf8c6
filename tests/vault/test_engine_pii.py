"""The engine's PII handling: tokens before anything is stored, the vault, re-insertion for the owner
on private channels only, and the leak check's safe fallback."""

from __future__ import annotations

import json
from pathlib import Path

from tactful.channels.tokens import PII_TOKEN
from tactful.domain import Channel, PersonalisationIntensity, Preferences, Reply, TenantId
from tactful.engine import Engine, EngineParts
from tactful.render import Rendering, RenderRequest, TemplateRenderer
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.conftest import FixedClock, MessageFactory, put_customer

EMAIL = "anna.lopez@example.com"


def _db_bytes(db_url: str) -> bytes:
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(
        p.read_bytes() for p in path.parent.glob(path.name + "*") if not p.name.endswith("master-key")
    )


def test_the_same_value_gets_the_same_token_and_is_kept_encrypted(
    engine: Engine, message: MessageFactory, tenant: NewTenant, db_url: str
) -> None:
    first = engine.decide(message(f"my email is {EMAIL}, where is my order?"))
    second = engine.decide(message(f"Still nothing. Write to {EMAIL.upper()} please"))
    assert first.explanation.signals["pii"] == ["email"] == second.explanation.signals["pii"]
    assert engine.vault is not None
    held = engine.vault.reveal(TenantId(tenant.tenant.tenant_id), first.customer_id)
    assert [v.value for v in held] == [EMAIL]  # one token for both spellings: the first kept
    assert PII_TOKEN.fullmatch(held[0].token)
    engine.relay_events()
    assert EMAIL.encode() not in _db_bytes(db_url) and EMAIL.upper().encode() not in _db_bytes(db_url)


def test_a_name_is_greeted_on_private_channels_and_stored_only_as_a_token(
    engine: Engine, message: MessageFactory
) -> None:
    d = engine.decide(message("Hi, my name is Anna Lopez. Where is my order?", channel=Channel.CHAT))
    stored = engine.store.get_decision(d.tenant_id, d.decision_id)
    assert stored is not None
    assert "Anna Lopez" in d.reply.text  # the reply the caller sends
    assert "Anna" not in stored.reply.text and PII_TOKEN.search(stored.reply.text)  # what is kept


def test_no_name_and_no_token_on_the_public_channel(engine: Engine, message: MessageFactory) -> None:
    d = engine.decide(message("My name is Anna Lopez and my refund never came", channel=Channel.SOCIAL))
    if d.reply.channel is Channel.SOCIAL:
        assert "Anna" not in d.reply.text and not PII_TOKEN.search(d.reply.text)
    stored = engine.store.get_decision(d.tenant_id, d.decision_id)
    assert stored is not None and "Anna" not in stored.reply.text


def test_personalisation_off_greets_nobody_by_name(
    engine: Engine, message: MessageFactory, store: Store, tenant: NewTenant
) -> None:
    put_customer(
        store,
        tenant.tenant.tenant_id,
        "cust-1",
        preferences=Preferences(personalisation=PersonalisationIntensity.OFF),
    )
    d = engine.decide(message("Hi, my name is Anna Lopez. Where is my order?", channel=Channel.CHAT))
    assert "Anna" not in d.reply.text and not PII_TOKEN.search(d.reply.text)


class EchoRenderer(TemplateRenderer):
    """A renderer that writes what it is told to (as an LLM might): to test the engine's checks."""

    def __init__(self, say: str) -> None:
        super().__init__()
        self.say = say

    def render(self, req: RenderRequest) -> Rendering:
        if req.signals.intent == "other":  # the engine's safe fallback asks for this
            return super().render(req)
        reply = Reply(channel=req.channel, text=self.say, template_id="echo", template_version=self.version)
        return Rendering(reply=reply, measured=None)


def _engine_saying(store: Store, clock: FixedClock, say: str) -> Engine:
    return Engine(EngineParts(store, clock=clock, renderer=EchoRenderer(say)))


def test_the_owners_token_is_re_inserted_on_a_private_channel(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    plain = Engine(EngineParts(store, clock=clock))
    plain.decide(message(f"my email is {EMAIL}", channel=Channel.CHAT))
    assert plain.vault is not None
    token = plain.vault.reveal(message("x").tenant_id, message("x").customer_id)[0].token

    engine = _engine_saying(store, clock, f"We will write to {token} today.")
    d = engine.decide(message("where is my parcel?", channel=Channel.CHAT))  # the token is in the vault
    assert d.reply.text == f"We will write to {EMAIL} today." and not d.degraded
    stored = store.get_decision(d.tenant_id, d.decision_id)
    assert stored is not None and stored.reply.text == f"We will write to {token} today."

    other = engine.decide(message("where is my parcel?", channel=Channel.CHAT, customer="cust-2"))
    assert EMAIL not in other.reply.text and token not in other.reply.text  # not theirs: removed


def test_a_value_of_someone_else_in_a_reply_falls_back_to_a_safe_reply(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = _engine_saying(store, clock, "Is bob.other@example.org your address?")
    d = engine.decide(message("where is my order?", channel=Channel.CHAT))
    assert d.degraded and any("safe reply used" in why for why in d.degradations)
    assert "bob.other" not in d.reply.text


def test_echoing_the_customers_own_raw_value_is_a_leak_too(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = _engine_saying(store, clock, f"Your email {EMAIL} is noted.")
    d = engine.decide(message(f"my email is {EMAIL}, where is my refund?", channel=Channel.SOCIAL))
    assert d.degraded and EMAIL not in d.reply.text


def test_snapshot_and_event_hold_kinds_not_values(
    engine: Engine, message: MessageFactory, tenant: NewTenant
) -> None:
    seen: list[str] = []
    engine.bus.subscribe("decision.made", lambda env: seen.append(json.dumps(env.payload)), group="t")
    d = engine.decide(message(f"call me on +44 7700 900123 or mail {EMAIL}"))
    engine.relay_events()
    entry = engine.store.audit.entries(TenantId(tenant.tenant.tenant_id))[-1]
    assert entry.payload["snapshot"]["pii_kinds"] == ["email", "phone"]
    blob = json.dumps(entry.payload) + "".join(seen) + d.model_dump_json()
    assert EMAIL not in blob and "900123" not in blob


def test_a_known_customers_key_comes_with_the_decisions_one_read(
    engine: Engine, message: MessageFactory, tenant: NewTenant
) -> None:
    """The customer's wrapped data key is read with the decision's other reads: a second message
    with personal data seals its values without a key read of its own, under the same key."""
    from sqlalchemy import event

    key_reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().startswith("SELECT vault_customer_keys.wrapped_key"):
            key_reads.append(statement)

    database = engine.store._db  # type: ignore[attr-defined]
    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        engine.decide(message(f"my email is {EMAIL}"))  # the first: the key is created (read, insert)
        first = len(key_reads)
        engine.decide(message("and my phone is +44 7700 900123, call me"))
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert first >= 1 and len(key_reads) == first
    assert engine.vault is not None
    held = engine.vault.reveal(TenantId(tenant.tenant.tenant_id), message("x").customer_id)
    assert sorted(v.kind for v in held) == ["email", "phone"]  # both open under the one key
