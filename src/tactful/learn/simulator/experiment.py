"""An experiment run on simulated customers: a candidate policy against the active one, through the
real experiment machinery (``ExperimentRouter`` assigns arms, ``decision_facts`` keeps the figures,
``ExperimentMonitor`` judges and ramps, promotes or rolls back, audited, in a real store).

Each simulated contact is decided by its arm's policy (``CompiledPolicy.evaluate``, as in
``simulate``); its outcomes follow from the world's latent preferences for the channel chosen, with
the contact's common random numbers: whether the customer replies, is resolved, complains (CSAT 5,
3 or 1 accordingly), comes back, or opts out. The report says when the experiment ended, how, and
how many customers and decisions the candidate reached before it did.

    tactful experiments simulate --population examples/populations/retail.yaml --candidate worse.yaml
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from tactful.domain import (
    CustomerId,
    Decision,
    DecisionId,
    EventId,
    Explanation,
    Outcome,
    OutcomeType,
    Reply,
    TenantId,
)
from tactful.learn.arms import Arm
from tactful.learn.simulator.spec import PopulationSpec
from tactful.learn.simulator.world import Contact, World
from tactful.policy import content_hash, load_policy
from tactful.policy.active import ActivePolicies
from tactful.policy.experiments import ExperimentSettings, Kind
from tactful.policy.rollout import experiments_for
from tactful.store.sql import SqlStore

#: Contacts decided between two looks of the monitor (and per write batch).
BATCH = 25
_OUTCOME_DELAY = timedelta(minutes=10)


def simulate_experiment(
    store: SqlStore,
    spec: PopulationSpec,
    control_source: str,
    candidate_source: str,
    *,
    kind: Kind = "canary",
    settings: ExperimentSettings | None = None,
    decisions: int = 6000,
    seed: int = 0,
    tenant_name: str = "sim-experiment",
) -> dict[str, Any]:
    started = time.perf_counter()
    control = load_policy(control_source, source_name="control")
    load_policy(candidate_source, source_name="candidate")
    tenant = store.create_tenant(tenant_name)
    tid = TenantId(tenant.tenant_id)
    first = store.publish_policy(tid, control_source, content_hash(control_source), by="simulator")
    store.activate_policy(tid, first.version, by="simulator")
    candidate = store.publish_policy(tid, candidate_source, content_hash(candidate_source), by="simulator")
    world = World(spec, control.document.learning.reward, decisions, seed)
    now = [world.contacts[0].at if world.contacts else datetime.now()]
    router, monitor = experiments_for(store, ActivePolicies(store), lambda: now[0], lambda: None)
    assert monitor is not None  # an SqlStore keeps experiments
    router.ttl_s = float("inf")  # every change goes through this monitor, which invalidates the cache
    experiment = monitor.start(
        tid,
        kind=kind,
        candidate_version=candidate.version,
        settings=settings,
        by="simulator",
        name="simulated",
        experiment_id=f"exp_sim_{seed}",  # the same customers in each arm on every run of a seed
    )
    events: list[dict[str, Any]] = []
    seen = [0]
    monitor.observers.append(
        lambda e, what: events.append(
            {"event": what, "after_decisions": seen[0], "share": e.share, "at": now[0].isoformat()}
        )
    )
    proactive: dict[int, deque[datetime]] = {}
    batch: list[tuple[Decision, list[Outcome]]] = []
    for contact in world.contacts:
        now[0] = contact.at
        batch.append(_decide(world, router, tid, contact, proactive))
        seen[0] += 1
        if len(batch) == BATCH or contact.index + 1 == decisions:
            store.facts.record([d for d, _ in batch])
            store.facts.apply_outcomes([o for _, outcomes in batch for o in outcomes])
            batch.clear()
            found = monitor.check(tid)
            if found is None or found.verdict in ("rollback", "promote", "ended"):
                break  # the experiment has ended: everyone gets the active policy again
    final = store.experiments.get_experiment(tid, experiment.experiment_id)
    assert final is not None
    status = monitor.status(final)
    candidate_arm = status.arms.get("candidate")
    return {
        "spec": spec.name,
        "seed": seed,
        "kind": kind,
        "decisions_run": seen[0],
        "decisions_planned": decisions,
        "state": final.state,
        "share": final.share,
        "events": events,
        # Each customer is in one arm, so the arms' customers add up to everyone who wrote in.
        "customers_who_wrote": sum(a.customers for a in status.arms.values()),
        "exposed_customers": candidate_arm.customers if candidate_arm else 0,
        "exposed_decisions": candidate_arm.decisions if candidate_arm else 0,
        "result": final.result,
        "arms": status.as_dict()["arms"],
        "guardrails": status.as_dict()["guardrails"],
        "experiment_id": final.experiment_id,
        "tenant_id": tid,
        "seconds": round(time.perf_counter() - started, 2),
    }


def with_rules(policy_source: str, rules_source: str) -> str:
    """``policy_source`` with the rules of ``rules_source`` (a YAML list, or ``rules:``) appended."""
    import yaml

    from tactful.errors import InputRejected

    policy = yaml.safe_load(policy_source)
    added = yaml.safe_load(rules_source)
    if isinstance(added, dict):
        added = added.get("rules")
    if not isinstance(added, list) or not isinstance(policy, dict):
        raise InputRejected(
            "candidate rules must be a YAML list of rules (or a mapping with rules:)",
            code="invalid_candidate",
        )
    policy["rules"] = [*policy.get("rules", []), *added]
    return yaml.safe_dump(policy, sort_keys=False, allow_unicode=True)


def _decide(
    world: World, router: Any, tid: TenantId, contact: Contact, proactive: dict[int, deque[datetime]]
) -> tuple[Decision, list[Outcome]]:
    customer = CustomerId(f"cust-{contact.customer.index}")
    history = proactive.setdefault(contact.customer.index, deque())
    while history and contact.at - history[0] >= timedelta(hours=24):
        history.popleft()
    policy, assignment = router.assign(tid, customer)
    result = policy.evaluate(world.policy_input(contact, len(history)))
    primary = result.channel.primary
    if result.proactive and primary is not None:
        history.append(contact.at)
    decision = Decision(
        decision_id=DecisionId(f"dec-{contact.index}"),
        tenant_id=tid,
        event_id=EventId(f"evt-{contact.index}"),
        customer_id=customer,
        conversation_id=f"conv-{contact.index}",
        inbound_channel=contact.inbound,
        tone=result.tone,
        channel=result.channel,
        action=result.action,
        reply=Reply(channel=primary, text=""),
        explanation=Explanation(rules_fired=result.rules_fired),
        policy_version=policy.version_label,
        model_versions={},
        # Deterministic and the same for both arms: the simulator has no real latency to compare.
        latency_ms={"total": round(2.0 + 0.2 * abs(contact.noise), 3)},
        proactive=result.proactive,
        decided_at=contact.at,
        experiment=assignment.experiment_id if assignment else None,
        arm=assignment.arm if assignment else None,
    )
    return decision, _outcomes(world, tid, contact, decision, primary)


def _outcomes(
    world: World, tid: TenantId, contact: Contact, decision: Decision, primary: Any
) -> list[Outcome]:
    at = contact.at + _OUTCOME_DELAY

    def outcome(kind: OutcomeType, value: float | None = None) -> Outcome:
        return Outcome(
            event_id=EventId(f"{decision.decision_id}.{kind.value}"),
            tenant_id=tid,
            decision_id=decision.decision_id,
            type=kind,
            value=value,
            occurred_at=at,
        )

    if primary is None:
        return [outcome(OutcomeType.RECONTACT)]  # nothing was sent: they will be back
    reply, quality = world.probabilities(contact, Arm(primary, "as_policy"))
    if contact.u_reply >= reply:
        return [outcome(OutcomeType.DELIVERED), outcome(OutcomeType.RECONTACT)]
    if contact.u_resolve < quality:
        return [outcome(OutcomeType.REPLIED), outcome(OutcomeType.RESOLVED), outcome(OutcomeType.CSAT, 5.0)]
    found = [outcome(OutcomeType.REPLIED), outcome(OutcomeType.RECONTACT)]
    rate = world.spec.complaint_rate
    if contact.u_complaint < rate:
        found += [outcome(OutcomeType.COMPLAINT), outcome(OutcomeType.CSAT, 1.0)]
        if contact.u_complaint < rate * 0.3:
            found.append(outcome(OutcomeType.OPTED_OUT))
    else:
        found.append(outcome(OutcomeType.CSAT, 3.0))
    return found
