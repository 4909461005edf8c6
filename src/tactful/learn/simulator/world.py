"""The simulated world: customers drawn from the spec's segments, a stream of contacts, and the
latent reward of every arm. Nothing here is visible to a strategy except through ``PolicyInput``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    CustomerProfile,
    EventId,
    InboundMessage,
    OutcomeType,
    Preferences,
    SentimentLabel,
    Signals,
    TenantId,
)
from tactful.learn.arms import Arm
from tactful.learn.rewards import OutcomeFact, reward_for
from tactful.learn.simulator.spec import PopulationSpec, Segment, availability
from tactful.policy.schema import RewardSection
from tactful.policy.types import PolicyInput

TENANT = TenantId("sim")
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday


@dataclass(frozen=True, slots=True)
class SimCustomer:
    index: int
    segment: int
    preferences: Preferences
    profile: CustomerProfile


@dataclass(frozen=True, slots=True)
class Contact:
    """One inbound message, with the common random numbers every strategy's outcome uses."""

    index: int
    at: datetime
    customer: SimCustomer
    situation: int
    inbound: Channel
    local_hour: int
    u_reply: float
    u_resolve: float
    u_complaint: float
    noise: float


# The four outcome patterns a contact can end in; their rewards come from the policy's definition.
_NO_REPLY, _RESOLVED, _COMPLAINT, _REPLIED_ONLY = range(4)


class World:
    def __init__(self, spec: PopulationSpec, reward: RewardSection, decisions: int, seed: int) -> None:
        self.spec = spec
        self.decisions = decisions
        rng = random.Random(seed)
        self.customers = [self._customer(i, rng) for i in range(spec.customers)]
        self._zones = [ZoneInfo(s.profile.time_zone) for s in spec.segments]
        self.contacts = [self._contact(i, rng) for i in range(decisions)]
        self._pattern_rewards = self._outcome_rewards(reward)
        self._drift_points = sorted(spec.drift, key=lambda d: d.at)
        self._phases: dict[tuple[int, int], tuple[dict[Channel, float], dict[str, dict[str, float]]]] = {}

    # -- population -------------------------------------------------------------------------------

    def _customer(self, index: int, rng: random.Random) -> SimCustomer:
        seg_index = rng.choices(range(len(self.spec.segments)), [s.weight for s in self.spec.segments])[0]
        seg = self.spec.segments[seg_index]
        opted = frozenset(c for c, p in seg.opted_out.items() if rng.random() < p)
        prefs = Preferences(opted_out=opted, do_not_contact=rng.random() < seg.do_not_contact)
        return SimCustomer(index, seg_index, prefs, CustomerProfile(**seg.profile.model_dump()))

    def _contact(self, index: int, rng: random.Random) -> Contact:
        customer = rng.choice(self.customers)
        seg = self.spec.segments[customer.segment]
        situation = rng.choices(range(len(self.spec.situations)), [s.weight for s in self.spec.situations])[0]
        inbound = rng.choices(list(seg.inbound), list(seg.inbound.values()))[0]
        span = self.spec.days * 86400.0
        at = START + timedelta(seconds=span * (index + rng.random()) / self.decisions)
        local_hour = at.astimezone(self._zones[customer.segment]).hour
        return Contact(
            index, at, customer, situation, inbound, local_hour,
            rng.random(), rng.random(), rng.random(), rng.gauss(0.0, 1.0),
        )  # fmt: skip

    def policy_input(self, contact: Contact, proactive_24h: int) -> PolicyInput:
        seg = self.spec.segments[contact.customer.segment]
        sit = self.spec.situations[contact.situation]
        sentiment = (
            SentimentLabel.NEGATIVE
            if sit.valence < -0.2
            else SentimentLabel.POSITIVE
            if sit.valence > 0.2
            else SentimentLabel.NEUTRAL
        )
        signals = Signals(
            language=seg.profile.language,
            language_confidence=0.9,
            sentiment=sentiment,
            valence=sit.valence,
            anger=sit.anger,
            urgency=sit.urgency,
            frustration=sit.frustration,
            intent=sit.intent,
            intent_confidence=sit.intent_confidence,
        )
        message = InboundMessage(
            event_id=EventId(f"evt-{contact.index}"),
            tenant_id=TENANT,
            customer_id=CustomerId(f"cust-{contact.customer.index}"),
            conversation_id=ConversationId(f"conv-{contact.index}"),
            channel=contact.inbound,
            text=f"({sit.name})",
            sent_at=contact.at,
        )
        features: dict[str, object] = {**seg.features, "proactive_contacts_24h": proactive_24h}
        return PolicyInput(
            message=message,
            signals=signals,
            preferences=contact.customer.preferences,
            profile=contact.customer.profile,
            features=features,
            now=contact.at,
        )

    # -- latent rewards ---------------------------------------------------------------------------

    def _outcome_rewards(self, spec: RewardSection) -> tuple[float, float, float, float]:
        def value(*types: OutcomeType) -> float:
            facts = [OutcomeFact(t, None, START) for t in (OutcomeType.DELIVERED, *types)]
            return reward_for(spec, START, facts).value

        return (
            value(),
            value(OutcomeType.REPLIED, OutcomeType.RESOLVED),
            value(OutcomeType.REPLIED, OutcomeType.COMPLAINT),
            value(OutcomeType.REPLIED),
        )

    def _preferences(
        self, segment: int, fraction: float
    ) -> tuple[dict[Channel, float], dict[str, dict[str, float]]]:
        phase = sum(1 for d in self._drift_points if d.at <= fraction)
        cached = self._phases.get((segment, phase))
        if cached is not None:
            return cached
        seg: Segment = self.spec.segments[segment]
        channel_pref: dict[Channel, float] = dict(seg.channel_pref)
        tone_pref: dict[str, dict[str, float]] = {
            k: {str(style): v for style, v in styles.items()} for k, styles in seg.tone_pref.items()
        }
        for drift in self._drift_points[:phase]:
            if drift.segment == seg.name:
                channel_pref.update(drift.channel_pref)
                for key, styles in drift.tone_pref.items():
                    tone_pref.setdefault(key, {}).update({str(style): v for style, v in styles.items()})
        self._phases[(segment, phase)] = (channel_pref, tone_pref)
        return channel_pref, tone_pref

    def probabilities(self, contact: Contact, arm: Arm) -> tuple[float, float]:
        """(P(reply), P(resolved | reply)) of ``arm`` for this contact, drift applied."""
        seg = self.spec.segments[contact.customer.segment]
        channel_pref, tone_pref = self._preferences(contact.customer.segment, contact.index / self.decisions)
        situation = self.spec.situations[contact.situation].name
        quality = channel_pref.get(arm.channel, seg.default_quality)
        quality += tone_pref.get("default", {}).get(arm.style, 0.0)
        quality += tone_pref.get(situation, {}).get(arm.style, 0.0)
        reply = availability(seg.availability.get(arm.channel), contact.local_hour)
        return reply, min(max(quality, 0.0), 1.0)

    def expected_reward(self, contact: Contact, arm: Arm) -> float:
        a, q = self.probabilities(contact, arm)
        k = self.spec.complaint_rate
        r0, r1, r2, r3 = self._pattern_rewards
        return (1 - a) * r0 + a * q * r1 + a * (1 - q) * k * r2 + a * (1 - q) * (1 - k) * r3

    def observed_reward(self, contact: Contact, arm: Arm) -> float:
        a, q = self.probabilities(contact, arm)
        if contact.u_reply >= a:
            pattern = _NO_REPLY
        elif contact.u_resolve < q:
            pattern = _RESOLVED
        elif contact.u_complaint < self.spec.complaint_rate:
            pattern = _COMPLAINT
        else:
            pattern = _REPLIED_ONLY
        return self._pattern_rewards[pattern] + self.spec.reward_noise * contact.noise
