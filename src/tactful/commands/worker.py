"""``tactful worker --role …`` and ``tactful bus status|dead-letters`` (issue 13, docs/scale-out.md).

A worker is the engine without HTTP, working for some bus groups. Roles:

- ``decide``: decides the inbound messages published on the bus (``message.received``);
- ``features``: folds outcomes (and decisions, for a feature store outside the SQL store) into the
  features, and runs the experiments' guardrail monitor;
- ``learner``: the one learner per tenant: learns from outcomes as reward windows close and saves
  snapshots, which every other process reads;
- ``relay``: publishes the store's outbox to the bus;
- ``delivery``: sends decided replies through the channels (the delivery outbox);
- ``all``: every role in one process.

Every process reads the same settings (``TACTFUL_DATABASE_URL``, ``TACTFUL_BUS_URL``, …). The worker
prints one JSON line ``{"status": "ready", …}`` once it consumes, and stops cleanly on SIGTERM/SIGINT
(a SIGKILL loses nothing: unacknowledged messages are redelivered, the outbox is re-claimed).
"""

# No ``from __future__ import annotations``: typer reads the annotations at run time.
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from tactful.bus import Bus, DeadLetters

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: $TACTFUL_DATABASE_URL).")]


class Role(StrEnum):
    decide = "decide"
    features = "features"
    learner = "learner"
    relay = "relay"
    delivery = "delivery"
    all = "all"


#: Role → the bus groups it consumes.
ROLE_GROUPS: dict[Role, frozenset[str]] = {
    Role.decide: frozenset({"engine"}),
    Role.features: frozenset({"features", "experiments"}),
    Role.learner: frozenset({"learner"}),
    Role.relay: frozenset(),
    Role.delivery: frozenset(),
}

#: How often the loops of the relay, learner and delivery roles look for work when idle.
IDLE_S = 0.2

bus_app = typer.Typer(no_args_is_help=True, help="The event bus: streams, consumer groups, dead letters.")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(bus_app, name="bus")


def expand(roles: list[Role]) -> set[Role]:
    chosen = set(roles) or {Role.all}
    return set(ROLE_GROUPS) if Role.all in chosen else chosen


def worker(
    role: Annotated[list[Role], typer.Option("--role", help="Role(s) to run; repeat the option.")],
    db: DbOption = None,
) -> None:
    """Run a worker process for one or more roles (any number of workers per role)."""
    from tactful.cli import errors_to_exit, settings_for
    from tactful.engine import Engine
    from tactful.wiring import settle_startup_heap

    roles = expand(role)
    groups = frozenset().union(*(ROLE_GROUPS[r] for r in roles))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with errors_to_exit():
        settings = settings_for(db)
        # Decisions made here relay their events from a background thread in batches (one outbox
        # claim per batch, as API processes do), not one claim per decision.
        engine = Engine.from_settings(settings, background_relay=True, consume=groups)
        settle_startup_heap()
    loops: list[threading.Thread] = []
    try:
        if Role.decide in roles:
            engine.listen()
        if Role.learner in roles:
            engine.learn_from_bus()
            # Reward windows close with time too, not only when an outcome arrives.
            close_due = getattr(engine.learner, "close_due", None)
            if close_due is not None:
                loops.append(_loop("learner", stop, lambda: close_due(engine.clock())))
        if Role.relay in roles:
            loops.append(_loop("relay", stop, engine.relay_events))
        if Role.delivery in roles:
            from tactful.channels.service import ChannelService

            channels = ChannelService(engine, deliver_inline=False)
            loops.append(_loop("delivery", stop, channels.worker.run_once))
        for thread in loops:
            thread.start()
        ready = {"status": "ready", "roles": sorted(r.value for r in roles), "groups": sorted(groups)}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        stop.set()
        for thread in loops:
            thread.join(timeout=30)
        engine.close()


def _loop(name: str, stop: threading.Event, step: Any) -> threading.Thread:
    """Run ``step`` until stopped; sleep ``IDLE_S`` only when it found nothing to do. A failing step
    (the store or bus away) is logged and retried after a growing pause."""
    import logging

    log = logging.getLogger(f"tactful.worker.{name}")

    def run() -> None:
        pause = IDLE_S
        while not stop.is_set():
            try:
                done = step()
                pause = IDLE_S
            except Exception:
                log.exception("%s step failed; retrying", name)
                pause = min(pause * 2, 5.0)
                done = 0
            if not done:
                stop.wait(pause)

    return threading.Thread(target=run, name=f"tactful-{name}", daemon=True)


@bus_app.command("status")
def bus_status() -> None:
    """Messages per stream and pending / unacknowledged counts per consumer group."""
    from tactful.cli import errors_to_exit, fail, print_json, settings_for

    with errors_to_exit():
        bus = _inspected_bus(settings_for(None).bus_url)
        try:
            status = getattr(bus, "status", None)
            if status is None:
                fail("the in-process bus keeps no streams; set TACTFUL_BUS_URL=nats://…", "no_durable_bus")
            print_json(status())
        finally:
            bus.close()


@bus_app.command("dead-letters")
def bus_dead_letters(limit: Annotated[int, typer.Option(help="Newest N.")] = 100) -> None:
    """Events a consumer group gave up on after its retries, newest last."""
    from tactful.cli import errors_to_exit, fail, print_json, settings_for

    with errors_to_exit():
        bus = _inspected_bus(settings_for(None).bus_url)
        try:
            dead = bus if isinstance(bus, DeadLetters) else None
            if dead is None:  # pragma: no cover - every shipped bus keeps them
                fail("this bus keeps no dead letters", "no_durable_bus")
            print_json(
                {
                    "count": dead.dead_letter_count(),
                    "at": datetime.now(UTC).isoformat(),
                    "dead_letters": [d.__dict__ for d in dead.dead_letters(limit)],
                }
            )
        finally:
            bus.close()


def _inspected_bus(url: str) -> Bus:
    from tactful.bus import open_bus

    return open_bus(url, consume=frozenset())  # inspects only: consumes nothing
