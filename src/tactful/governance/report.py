"""The compliance report: what the audit log proves about a tenant since a date.

Everything is recomputed from the audit chain, not taken from counters: each ``decision`` entry
holds the decision as made and the consent facts it was made with (``snapshot.consent``), so the
report re-checks every decision against those facts. Decision entries survive retention purges
(they hold no raw personal data), so the report covers purged periods too.

Sections: opt-outs honoured, constraint violations (must be 0), PII detections by type, erasures
and other customer-data events by kind, policy/key/retention changes with who and when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from tactful.domain import INTRUSIVE_CHANNELS, Channel, QuietHours, TenantId, continues_conversation
from tactful.policy.local_time import in_quiet_window
from tactful.store.base import AuditEntry, AuditLog

_PAGE = 1000
#: Audit kinds listed as changes (who, when, what).
CHANGE_PREFIXES = ("policy.", "key.", "retention.")
#: Audit kinds about one customer's data (part B writes ``customer.erased``).
CUSTOMER_PREFIX = "customer."


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision_id: str
    rule: str  # "opt_out" | "do_not_contact" | "quiet_hours"
    channel: str | None
    detail: str


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    kind: str
    at: datetime
    by: str
    details: dict[str, Any]


class ConsentChangeRow(BaseModel):
    """A consent change from any path (SMS keyword, API), as its ``consent.changed`` entry says."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    customer_id: str
    source: str
    by: str
    before: dict[str, Any]
    after: dict[str, Any]


class OptOuts(BaseModel):
    model_config = ConfigDict(frozen=True)

    decisions_with_opt_outs: int  # the customer had opted out of a channel, or of all contact
    opted_out_channel_blocked: int  # decisions where the guardrail removed an opted-out channel
    contacts_on_opted_out_channels: int  # must be 0


class ComplianceReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    since: datetime
    generated_at: datetime
    audit_entries: int
    decisions: int
    decisions_unverifiable: int  # made before decisions recorded their consent facts
    opt_outs: OptOuts
    violations: list[Violation]
    pii_detections: dict[str, int]
    erasures: int
    customer_events: dict[str, int]
    changes: list[Change]
    consent_changes: list[ConsentChangeRow]
    audit_chain_ok: bool


def _entries(audit: AuditLog, tenant_id: TenantId) -> Iterator[AuditEntry]:
    """Every chain's entries (a tenant's log is several chains; store/signing.py), chain by chain."""
    for shard in audit.shards(tenant_id):
        after = 0
        while True:
            page = audit.entries(tenant_id, after_seq=after, limit=_PAGE, shard=shard)
            yield from page
            if len(page) < _PAGE:
                break
            after = page[-1].seq


def _zone(name: object) -> ZoneInfo | None:
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _in_quiet_hours(decided_at: datetime, consent: dict[str, Any]) -> bool:
    window = consent.get("quiet_hours")
    if window is None:
        return False
    zone = _zone(consent.get("time_zone"))
    if zone is None:  # as the engine does: unknown local time counts as inside a non-empty window
        return bool(window[0] != window[1])
    quiet = QuietHours(start=time.fromisoformat(window[0]), end=time.fromisoformat(window[1]))
    return in_quiet_window(decided_at.astimezone(zone).time(), quiet)


def check_decision(decision: dict[str, Any], consent: dict[str, Any]) -> list[Violation]:
    """Re-check one stored decision against the consent facts it was made with."""
    decision_id = str(decision["decision_id"])
    inbound = Channel(decision["inbound_channel"])
    choice = decision["channel"]
    used = [c for c in [choice.get("primary"), *choice.get("fallbacks", ())] if c is not None]
    opted_out = set(consent.get("opted_out", ()))
    found: list[Violation] = []
    if consent.get("do_not_contact") and choice.get("primary") is not None:
        found.append(
            Violation(
                decision_id=decision_id,
                rule="do_not_contact",
                channel=str(choice["primary"]),
                detail="a channel was chosen for a customer who asked not to be contacted",
            )
        )
    for name in used:
        if name in opted_out:
            found.append(
                Violation(
                    decision_id=decision_id,
                    rule="opt_out",
                    channel=name,
                    detail=f"{name} chosen although the customer opted out of it",
                )
            )
    decided_at = datetime.fromisoformat(decision["decided_at"])
    for name in used:
        channel = Channel(name)
        # Quiet hours bind initiations on intrusive channels; a reply where the customer writes does not.
        initiation = channel in INTRUSIVE_CHANNELS and not continues_conversation(inbound, channel)
        if initiation and _in_quiet_hours(decided_at, consent):
            found.append(
                Violation(
                    decision_id=decision_id,
                    rule="quiet_hours",
                    channel=name,
                    detail=f"{name} initiated inside the customer's quiet hours",
                )
            )
    return found


def compliance_report(
    audit: AuditLog, tenant_id: TenantId, since: datetime, *, now: datetime
) -> ComplianceReport:
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    decisions = unverifiable = with_opt_outs = blocked = on_opted_out = 0
    violations: list[Violation] = []
    pii: Counter[str] = Counter()
    customer_events: Counter[str] = Counter()
    changes: list[Change] = []
    consent_changes: list[ConsentChangeRow] = []
    counted = 0
    for entry in _entries(audit, tenant_id):
        if entry.created_at < since:
            continue
        counted += 1
        if entry.kind == "decision":
            decisions += 1
            decision = entry.payload.get("decision", {})
            snapshot = entry.payload.get("snapshot", {})
            pii.update(str(k) for k in snapshot.get("pii_kinds", ()))
            consent = snapshot.get("consent")
            if not isinstance(consent, dict):
                unverifiable += 1
                continue
            if consent.get("opted_out") or consent.get("do_not_contact"):
                with_opt_outs += 1
            removed = decision.get("channel", {}).get("removed", ())
            if any(r.get("rule_id") == "guardrail.consent.opt_out" for r in removed):
                blocked += 1
            found = check_decision(decision, consent)
            on_opted_out += sum(v.rule in ("opt_out", "do_not_contact") for v in found)
            violations.extend(found)
        elif entry.kind == "consent.changed":
            p = entry.payload
            consent_changes.append(
                ConsentChangeRow(
                    at=entry.created_at,
                    customer_id=str(p.get("customer_id", "")),
                    source=str(p.get("source", "")),
                    by=str(p.get("by", "")),
                    before=p.get("before") or {},
                    after=p.get("after") or {"change": p.get("change")},  # entries before issue 11
                )
            )
        elif entry.kind.startswith(CUSTOMER_PREFIX):
            customer_events[entry.kind] += 1
        elif entry.kind.startswith(CHANGE_PREFIXES):
            details = {k: v for k, v in entry.payload.items() if k != "by"}
            changes.append(
                Change(
                    seq=entry.seq,
                    kind=entry.kind,
                    at=entry.created_at,
                    by=str(entry.payload.get("by", "")),
                    details=details,
                )
            )
    verification = audit.verify(tenant_id)
    return ComplianceReport(
        tenant_id=tenant_id,
        since=since,
        generated_at=now,
        audit_entries=counted,
        decisions=decisions,
        decisions_unverifiable=unverifiable,
        opt_outs=OptOuts(
            decisions_with_opt_outs=with_opt_outs,
            opted_out_channel_blocked=blocked,
            contacts_on_opted_out_channels=on_opted_out,
        ),
        violations=violations,
        pii_detections=dict(sorted(pii.items())),
        erasures=customer_events.get("customer.erased", 0),
        customer_events=dict(sorted(customer_events.items())),
        # The log is several chains (store/signing.py): listed in time order across them.
        changes=sorted(changes, key=lambda c: c.at),
        consent_changes=sorted(consent_changes, key=lambda c: c.at),
        audit_chain_ok=all(v.ok for v in verification),
    )
