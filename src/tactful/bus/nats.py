"""The durable bus on NATS JetStream (``TACTFUL_BUS_URL=nats://host:4222``).

Delivery semantics, as the interface states them: **at least once**, acknowledged after the handler
returns. What JetStream adds:

- **Streams** per event type (``TACTFUL_MESSAGES``, ``TACTFUL_DECISIONS``, ``TACTFUL_OUTCOMES``,
  ``TACTFUL_FEATURES``) on
  file storage, so a published event survives a NATS restart; a dead-letter stream ``TACTFUL_DEAD``.
- **De-duplication**: every publish carries ``Nats-Msg-Id`` = the event id, so the outbox relay
  re-publishing after a crash (or a client re-sending) stores the event once within the stream's
  duplicate window.
- **Per-conversation order**: the subject is ``tactful.<type>.<partition>``, the partition a stable
  hash of the envelope's ordering key (the conversation id). Each (group, partition) has one
  durable pull consumer with ``max_ack_pending=1``: however many processes pull from it, one
  conversation's events are handled one after another, in publish order, while other partitions
  run in parallel.
- **Retries**: a handler that raises gets its message back (``nak`` with a growing delay); after
  ``max_attempts`` deliveries the message goes to the dead-letter stream (with the group, subject and
  error in its headers) and is terminated, so one poison message cannot block its partition for
  ever. ``tactful bus dead-letters`` lists them; ``tactful_bus_dead_letters`` counts them.

The bus's interface is synchronous (the engine and its handlers are); this class runs one asyncio
loop in a background thread for the NATS client and runs handlers in a small thread pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import Collection, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError

from tactful.breaker import CircuitBreaker
from tactful.bus.base import DeadLetter, Handler, Listener
from tactful.bus.nats_config import BusUnavailable, NatsBusConfig, partition_of
from tactful.domain import Envelope
from tactful.domain.events import EventType

__all__ = ["BusUnavailable", "NatsBus", "NatsBusConfig", "open_nats_bus", "partition_of"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Event type → the stream that keeps it.
STREAMS: dict[str, str] = {
    "message.received": "MESSAGES",
    "decision.made": "DECISIONS",
    "outcome.recorded": "OUTCOMES",
    "feature.recorded": "FEATURES",
}


class NatsBus:
    def __init__(self, config: NatsBusConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tactful-nats", daemon=True)
        self._thread.start()
        self._pool = ThreadPoolExecutor(config.handler_threads, thread_name_prefix="tactful-bus-handler")
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._connect_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.breaker = CircuitBreaker("nats", failures=(BusUnavailable,))
        #: Counters for /metrics, this process only.
        self.published = 0
        self.delivered = 0
        self.failed = 0
        self.dead_lettered = 0

    # -- the Bus interface --------------------------------------------------------------------

    def publish(self, envelope: Envelope) -> None:
        self.publish_encoded(envelope, envelope.model_dump_json().encode())

    def publish_encoded(self, envelope: Envelope, data: bytes) -> None:
        """The relay's way: ``data`` is the outbox's stored JSON of ``envelope``, sent unchanged
        (consumers parse any JSON form of an envelope; the message id is the event id)."""
        # While NATS is down the breaker fails publishes at once (the events wait in the outbox)
        # instead of making every relay pass wait out the publish timeout.
        self.breaker.call(lambda: self._run(self._publish(envelope, data)))
        self.published += 1

    def subscribe(self, event_type: EventType, handler: Handler, *, group: str) -> None:
        if not group.replace("-", "_").isidentifier():
            raise ValueError(f"bus group {group!r} must be a plain word (it names durable consumers)")
        if self.config.consume is not None and group not in self.config.consume:
            return  # another process (role) consumes this group
        self._run(self._subscribe(event_type, handler, group))

    def broadcast(self, topic: str, data: dict[str, Any]) -> None:
        """A core-NATS notice to every process listening (no stream, nothing kept; at most once)."""
        self.breaker.call(lambda: self._run(self._broadcast(topic, data)))

    def listen(self, topic: str, listener: Listener) -> None:
        self._run(self._listen(topic, listener))

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        try:
            self._run(self._close(), timeout=self.config.timeout_s + 5)
        except BusUnavailable:
            log.warning("NATS bus: closing timed out")
        try:
            self._run(self._end_the_rest(), timeout=5)
        except BusUnavailable:
            log.warning("NATS bus: tasks still running at close")
        self._pool.shutdown(wait=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    # -- inspection (CLI, metrics) ------------------------------------------------------------

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return self._run(self._dead_letters(limit))

    def dead_letter_count(self) -> int:
        return self._run(self._stream_messages(self._stream("dead")))

    def status(self) -> dict[str, Any]:
        """Messages per stream and pending/un-acknowledged counts per consumer group."""
        return self._run(self._status())

    # -- internals ------------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout if timeout is not None else self.config.timeout_s * 2)
        except TimeoutError as exc:
            future.cancel()
            raise BusUnavailable("NATS did not answer in time") from exc
        except (nats.errors.Error, OSError) as exc:
            raise BusUnavailable(f"NATS bus: {type(exc).__name__}: {exc}") from exc

    def _stream(self, kind: str) -> str:
        return f"{self.config.prefix.upper()}_{STREAMS.get(kind, kind.upper())}"

    def _subject(self, event_type: str, partition: int | str) -> str:
        return f"{self.config.prefix}.{event_type}.{partition}"

    async def _jetstream(self) -> JetStreamContext:
        async with self._connect_lock:
            if self._js is not None:
                return self._js
            nc = await nats.connect(
                servers=list(self.config.servers),
                connect_timeout=self.config.timeout_s,
                max_reconnect_attempts=-1,  # after the first connect, reconnect for ever
                reconnect_time_wait=0.25,
                allow_reconnect=True,
                error_cb=_log_error,
                disconnected_cb=self._on_disconnect,
                reconnected_cb=_log_reconnect,
            )
            js = nc.jetstream(timeout=self.config.timeout_s)
            await self._ensure_streams(js)
            self._nc, self._js = nc, js
            return js

    async def _ensure_streams(self, js: JetStreamContext) -> None:
        for event_type in STREAMS:
            await self._ensure_stream(js, self._stream(event_type), [self._subject(event_type, "*")])
        await self._ensure_stream(js, self._stream("dead"), [f"{self.config.prefix}.dead.>"])

    async def _ensure_stream(self, js: JetStreamContext, name: str, subjects: list[str]) -> None:
        config = js_api.StreamConfig(
            name=name,
            subjects=subjects,
            storage=js_api.StorageType.FILE,
            retention=js_api.RetentionPolicy.LIMITS,
            duplicate_window=self.config.duplicate_window_s,
            num_replicas=self.config.replicas,
        )
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)

    async def _publish(self, envelope: Envelope, data: bytes) -> None:
        js = await self._jetstream()
        partition = partition_of(envelope.key, self.config.partitions)
        await js.publish(
            self._subject(envelope.type, partition),
            data,
            timeout=self.config.timeout_s,
            headers={"Nats-Msg-Id": envelope.event_id},
        )

    async def _broadcast(self, topic: str, data: dict[str, Any]) -> None:
        await self._jetstream()
        assert self._nc is not None
        await self._nc.publish(f"{self.config.prefix}.broadcast.{topic}", json.dumps(data).encode())
        # nats-py's flush takes whole seconds
        await self._nc.flush(timeout=max(1, math.ceil(self.config.timeout_s)))  # or BusUnavailable

    async def _listen(self, topic: str, listener: Listener) -> None:
        await self._jetstream()
        assert self._nc is not None
        loop = asyncio.get_running_loop()

        async def received(msg: Msg) -> None:
            try:
                data = json.loads(msg.data)
                await loop.run_in_executor(self._pool, listener, data)
            except Exception:  # a notice is best effort; the listener's version check remains
                log.exception("NATS bus: listener of %s failed", topic)

        # A plain subscription, no queue group: every process gets every notice. The client
        # re-subscribes by itself after a reconnect.
        await self._nc.subscribe(f"{self.config.prefix}.broadcast.{topic}", cb=received)

    async def _subscribe(self, event_type: EventType, handler: Handler, group: str) -> None:
        js = await self._jetstream()
        for partition in range(self.config.partitions):
            durable = f"{group}_{event_type.replace('.', '_')}_p{partition}"
            sub = await js.pull_subscribe(
                self._subject(event_type, partition),
                durable=durable,
                stream=self._stream(event_type),
                config=js_api.ConsumerConfig(
                    ack_policy=js_api.AckPolicy.EXPLICIT,
                    max_ack_pending=1,  # one in flight per partition: the conversation's order
                    ack_wait=self.config.ack_wait_s,
                    max_deliver=-1,  # the dead-letter step below decides, with the reason kept
                    deliver_policy=js_api.DeliverPolicy.ALL,
                ),
            )
            self._tasks.append(asyncio.create_task(self._consume(sub, handler, group)))

    async def _consume(self, sub: JetStreamContext.PullSubscription, handler: Handler, group: str) -> None:
        failures = 0
        while not self._closing:
            try:
                msgs = await sub.fetch(1, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue  # nothing waiting
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # disconnected: the client reconnects; back off meanwhile
                failures += 1
                if failures == 1:
                    log.warning("NATS bus: fetch for %s failed (%s); retrying", group, exc)
                await asyncio.sleep(min(0.05 * 2**failures, 1.0))
                continue
            failures = 0
            for msg in msgs:
                try:
                    await self._handle(msg, handler, group)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the ack/nak was lost: JetStream redelivers after ack_wait
                    log.warning("NATS bus: settling a message of %s failed: %s", group, exc)

    async def _handle(self, msg: Msg, handler: Handler, group: str) -> None:
        deliveries = msg.metadata.num_delivered or 1
        try:
            envelope = Envelope.model_validate_json(msg.data)
        except ValueError as exc:  # cannot ever succeed: straight to the dead letters
            await self._dead_letter(msg, group, f"undecodable event: {exc}", deliveries)
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, handler, envelope)
        except Exception as exc:
            self.failed += 1
            if deliveries >= self.config.max_attempts:
                log.error(
                    "event %s to group %s failed %d times; dead-lettered: %r",
                    envelope.event_id, group, deliveries, exc,
                )  # fmt: skip
                await self._dead_letter(msg, group, repr(exc), deliveries)
            else:
                delay = min(self.config.backoff_s * 2 ** (deliveries - 1), self.config.backoff_max_s)
                await msg.nak(delay=delay)
            return
        self.delivered += 1
        await msg.ack()

    async def _dead_letter(self, msg: Msg, group: str, error: str, deliveries: int) -> None:
        js = await self._jetstream()
        event_id = (msg.headers or {}).get("Nats-Msg-Id", f"seq-{msg.metadata.sequence.stream}")
        await js.publish(
            f"{self.config.prefix}.dead.{group}",
            msg.data,
            timeout=self.config.timeout_s,
            headers={
                "Nats-Msg-Id": f"{group}:{event_id}",
                "Tactful-Group": group,
                "Tactful-Subject": msg.subject,
                "Tactful-Error": error[:1000],
                "Tactful-Deliveries": str(deliveries),
            },
        )
        self.dead_lettered += 1
        await msg.term()

    async def _stream_messages(self, name: str) -> int:
        js = await self._jetstream()
        info = await js.stream_info(name)
        return int(info.state.messages)

    async def _dead_letters(self, limit: int) -> list[DeadLetter]:
        js = await self._jetstream()
        info = await js.stream_info(self._stream("dead"))
        found: list[DeadLetter] = []
        first, last = info.state.first_seq, info.state.last_seq
        for seq in range(max(first, last - limit + 1), last + 1):
            try:
                raw = await js.get_msg(self._stream("dead"), seq)
            except NotFoundError:
                continue
            headers = raw.headers or {}
            try:
                event_id = str(json.loads(raw.data or b"{}").get("event_id", ""))
            except ValueError:
                event_id = ""
            found.append(
                DeadLetter(
                    group=headers.get("Tactful-Group", ""),
                    event_id=event_id,
                    error=headers.get("Tactful-Error", ""),
                    attempts=int(headers.get("Tactful-Deliveries", "0") or 0),
                    subject=headers.get("Tactful-Subject", ""),
                )
            )
        return found

    async def _status(self) -> dict[str, Any]:
        js = await self._jetstream()
        streams: dict[str, int] = {}
        for kind in [*STREAMS, "dead"]:
            info = await js.stream_info(self._stream(kind))
            streams[self._stream(kind)] = int(info.state.messages)
        groups: dict[str, dict[str, int]] = {}
        for event_type in STREAMS:
            for consumer in await js.consumers_info(self._stream(event_type)):
                name = consumer.name.rsplit("_p", 1)[0]
                entry = groups.setdefault(name, {"pending": 0, "unacknowledged": 0, "redelivered": 0})
                entry["pending"] += int(consumer.num_pending or 0)
                entry["unacknowledged"] += int(consumer.num_ack_pending or 0)
                entry["redelivered"] += int(consumer.num_redelivered or 0)
        return {"streams": streams, "groups": groups}

    async def _on_disconnect(self) -> None:
        if not self._closing:  # closing disconnects too; only an unexpected loss is news
            log.warning("NATS bus: disconnected; reconnecting")

    async def _close(self) -> None:
        # Let each consumer finish (and acknowledge) the message in hand: a fetch waits at most a
        # second, then the loop sees ``_closing``. One still busy after that is cancelled; its
        # message is redelivered after ``ack_wait`` (handlers are idempotent).
        if self._tasks:
            _, busy = await asyncio.wait(self._tasks, timeout=self.config.timeout_s)
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()  # not drain(): pending pull requests would hold it for its timeout

    async def _end_the_rest(self) -> None:
        """Cancel what still runs on the loop (a callback subscription's task — the broadcast
        listeners' — the client cancels without waiting for, or did not reach when the server
        was gone) and let it end, so nothing is destroyed pending when the loop stops."""
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        if rest:
            await asyncio.wait(rest, timeout=1.0)


async def _log_error(exc: Exception) -> None:
    log.warning("NATS bus: %s", exc)


async def _log_reconnect() -> None:
    log.info("NATS bus: reconnected")


def open_nats_bus(url: str, *, consume: Collection[str] | None = None) -> NatsBus:
    return NatsBus(NatsBusConfig.from_url(url, consume=consume))
