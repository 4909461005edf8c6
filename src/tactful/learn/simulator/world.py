"""The simulated world: customers drawn from the spec's segments, a stream of contacts, and the
latent reward of every arm. Nothing here is visible to a strategy except through ``PolicyInput``."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
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
from tactful.policy.schema import RewardSection, duration_seconds
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

    # Delays (uniforms, one per outcome type in _DELAYED order) and whether an unresolved customer
    # writes again. Defaults keep older callers (tests building a Contact by hand) working.
    u_delays: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5, 0.5)
    u_recontact: float = 0.5


# The four outcome patterns a contact can end in; their rewards come from the policy's definition.
_NO_REPLY, _RESOLVED, _COMPLAINT, _REPLIED_ONLY = range(4)
_DELAYED = (
    OutcomeType.REPLIED,
    OutcomeType.RESOLVED,
    OutcomeType.CSAT,
    OutcomeType.COMPLAINT,
    OutcomeType.RECONTACT,
)
#: Each pattern's outcomes (type, CSAT value); a re-contact may follow any pattern but a resolution.
_PATTERNS: tuple[tuple[tuple[OutcomeType, float | None], ...], ...] = (
    (),
    ((OutcomeType.REPLIED, None), (OutcomeType.RESOLVED, None), (OutcomeType.CSAT, 5.0)),
    ((OutcomeType.REPLIED, None), (OutcomeType.COMPLAINT, None), (OutcomeType.CSAT, 1.0)),
    ((OutcomeType.REPLIED, None),),
)


class World:
    def __init__(self, spec: PopulationSpec, reward: RewardSection, decisions: int, seed: int) -> None:
        self.spec = spec
        self.decisions = decisions
        rng = random.Random(seed)
        # Customers alike share one profile and one preferences object (equal values), so a policy
        # memo can key them by identity.
        self._profiles = [CustomerProfile(**s.profile.model_dump()) for s in spec.segments]
        self._preference_objects: dict[tuple[frozenset[Channel], bool], Preferences] = {}
        self.customers = [self._customer(i, rng) for i in range(spec.customers)]
        self._zones = [ZoneInfo(s.profile.time_zone) for s in spec.segments]
        self.contacts = [self._contact(i, rng) for i in range(decisions)]
        self._reward = reward
        self._delay_hours = {t: getattr(spec.outcome_delays, t.value) for t in _DELAYED}
        self._pattern_rewards = self._outcome_rewards(reward)
        self._drift_points = sorted(spec.drift, key=lambda d: d.at)
        self._phases: dict[tuple[int, int], tuple[dict[Channel, float], dict[str, dict[str, float]]]] = {}
        # Built once per segment and situation: the same for every contact about it.
        self._signals = {
            (g, i): self._signals_of(g, i)
            for g in range(len(spec.segments))
            for i in range(len(spec.situations))
        }
        # A realised reward depends only on the outcome pattern and which outcomes count (inside the
        # window; a re-contact also within `recontact_within`): a handful of values per run.
        self._observed: dict[tuple[object, ...], float] = {}
        self._limits = (
            timedelta(seconds=duration_seconds(reward.window)),
            timedelta(seconds=duration_seconds(reward.recontact_within)),
        )

    # -- population -------------------------------------------------------------------------------

    def _customer(self, index: int, rng: random.Random) -> SimCustomer:
        seg_index = rng.choices(range(len(self.spec.segments)), [s.weight for s in self.spec.segments])[0]
        seg = self.spec.segments[seg_index]
        opted = frozenset(c for c, p in seg.opted_out.items() if rng.random() < p)
        dnc = rng.random() < seg.do_not_contact
        prefs = self._preference_objects.setdefault(
            (opted, dnc), Preferences(opted_out=opted, do_not_contact=dnc)
        )
        return SimCustomer(index, seg_index, prefs, self._profiles[seg_index])

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
            tuple(rng.random() for _ in _DELAYED), rng.random(),
        )  # fmt: skip

    def _signals_of(self, segment: int, situation: int) -> Signals:
        seg = self.spec.segments[segment]
        sit = self.spec.situations[situation]
        sentiment = (
            SentimentLabel.NEGATIVE
            if sit.valence < -0.2
            else SentimentLabel.POSITIVE
            if sit.valence > 0.2
            else SentimentLabel.NEUTRAL
        )
        return Signals(
            language=seg.profile.language,
            language_confidence=0.9,
            sentiment=sentiment,
            valence=sit.valence,
            anger=sit.anger,
            urgency=sit.urgency,
            frustration=sit.frustration,
            intent=sit.intent,
            intent_confidence=sit.intent_confidence,
            wants_human=sit.wants_human,
        )

    def policy_input(self, contact: Contact, proactive_24h: int) -> PolicyInput:
        seg = self.spec.segments[contact.customer.segment]
        sit = self.spec.situations[contact.situation]
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
            signals=self._signals[(contact.customer.segment, contact.situation)],
            preferences=contact.customer.preferences,
            profile=contact.customer.profile,
            features=features,
            now=contact.at,
        )

    # -- latent rewards ---------------------------------------------------------------------------

    def _outcome_rewards(self, spec: RewardSection) -> tuple[float, float, float, float]:
        """Each pattern's expected reward over when its outcomes arrive (inside the window or not) and
        whether the customer writes again: every combination enumerated, the reward's clip applied."""
        limit = {t: self._window_hours(spec, t) for t in _DELAYED}
        values: list[float] = []
        for pattern, outcomes in enumerate(_PATTERNS):
            options = list(outcomes)
            recontact = pattern != _RESOLVED and self.spec.recontact_rate > 0
            if recontact:
                options.append((OutcomeType.RECONTACT, None))
            total = 0.0
            for mask in range(1 << len(options)):
                p = 1.0
                facts = [OutcomeFact(OutcomeType.DELIVERED, None, START)]
                for bit, (kind, value) in enumerate(options):
                    inside = 1.0 - math.exp(-limit[kind] / self._delay_hours[kind])
                    if kind is OutcomeType.RECONTACT:
                        inside *= self.spec.recontact_rate
                    if mask >> bit & 1:
                        p *= inside
                        facts.append(OutcomeFact(kind, value, START))
                    else:
                        p *= 1.0 - inside
                total += p * reward_for(spec, START, facts).value
            values.append(total)
        return values[0], values[1], values[2], values[3]

    @staticmethod
    def _window_hours(spec: RewardSection, kind: OutcomeType) -> float:
        hours = duration_seconds(spec.window) / 3600.0
        if kind is OutcomeType.RECONTACT:
            hours = min(hours, duration_seconds(spec.recontact_within) / 3600.0)
        return hours

    def phase(self, contact: Contact) -> int:
        """How many drift entries (segment changes) have happened by this contact (0 before any)."""
        fraction = contact.index / self.decisions
        return sum(1 for d in self._drift_points if d.at <= fraction)

    def _preferences(
        self, segment: int, phase: int
    ) -> tuple[dict[Channel, float], dict[str, dict[str, float]]]:
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

    def probabilities(
        self,
        contact: Contact,
        arm: Arm,
        proactive_24h: int = 0,
        tone: Mapping[str, float] | None = None,
    ) -> tuple[float, float]:
        """(P(reply), P(resolved | reply)) of ``arm`` for this contact, drift applied.

        ``tone``: per style, the share of its nominal shift the policy actually applied (brand bounds
        and clamps can swallow a style); a style's preference counts in that proportion. Each
        proactive contact in the past 24 h makes a reply less likely (``fatigue``)."""
        seg = self.spec.segments[contact.customer.segment]
        channel_pref, tone_pref = self._preferences(contact.customer.segment, self.phase(contact))
        situation = self.spec.situations[contact.situation].name
        realised = 1.0 if tone is None else tone.get(arm.style, 1.0)
        quality = channel_pref.get(arm.channel, seg.default_quality)
        quality += realised * tone_pref.get("default", {}).get(arm.style, 0.0)
        quality += realised * tone_pref.get(situation, {}).get(arm.style, 0.0)
        reply = availability(seg.availability.get(arm.channel), contact.local_hour)
        if proactive_24h:
            reply *= (1.0 - self.spec.fatigue) ** proactive_24h
        return reply, min(max(quality, 0.0), 1.0)

    def expected_reward(
        self, contact: Contact, arm: Arm, proactive_24h: int = 0, tone: Mapping[str, float] | None = None
    ) -> float:
        a, q = self.probabilities(contact, arm, proactive_24h, tone)
        k = self.spec.complaint_rate
        r0, r1, r2, r3 = self._pattern_rewards
        return (1 - a) * r0 + a * q * r1 + a * (1 - q) * k * r2 + a * (1 - q) * (1 - k) * r3

    def observed_reward(
        self, contact: Contact, arm: Arm, proactive_24h: int = 0, tone: Mapping[str, float] | None = None
    ) -> float:
        """The reward the policy's definition gives the outcomes that arrive inside the window."""
        outcomes, delays = self._outcomes(contact, arm, proactive_24h, tone)
        return self._realised(outcomes, delays) + self.spec.reward_noise * contact.noise

    def partial_reward(
        self,
        contact: Contact,
        arm: Arm,
        by: timedelta,
        proactive_24h: int = 0,
        tone: Mapping[str, float] | None = None,
    ) -> float:
        """The reward of the outcomes in by ``by`` after the decision (the early estimate's; the
        reward's noise is left to the rest, which arrives with the window)."""
        outcomes, delays = self._outcomes(contact, arm, proactive_24h, tone)
        kept = [(o, d) for o, d in zip(outcomes, delays, strict=True) if d <= by]
        return self._realised([o for o, _ in kept], tuple(d for _, d in kept))

    def _outcomes(
        self, contact: Contact, arm: Arm, proactive_24h: int, tone: Mapping[str, float] | None
    ) -> tuple[list[tuple[OutcomeType, float | None]], tuple[timedelta, ...]]:
        """The contact's outcomes under ``arm`` and when each arrives after the decision."""
        a, q = self.probabilities(contact, arm, proactive_24h, tone)
        if contact.u_reply >= a:
            pattern = _NO_REPLY
        elif contact.u_resolve < q:
            pattern = _RESOLVED
        elif contact.u_complaint < self.spec.complaint_rate:
            pattern = _COMPLAINT
        else:
            pattern = _REPLIED_ONLY
        outcomes = list(_PATTERNS[pattern])
        if pattern != _RESOLVED and contact.u_recontact < self.spec.recontact_rate:
            outcomes.append((OutcomeType.RECONTACT, None))
        delays = tuple(
            timedelta(hours=-self._delay_hours[kind] * math.log(1.0 - contact.u_delays[_DELAYED.index(kind)]))
            for kind, _ in outcomes
        )
        return outcomes, delays

    def _realised(
        self, outcomes: list[tuple[OutcomeType, float | None]], delays: tuple[timedelta, ...]
    ) -> float:
        """The policy's reward for these outcomes after these delays, memoised on what it reads of
        the delays (whether each is inside the window and, for a re-contact, within its limit)."""
        window, within = self._limits
        key = tuple(
            (kind, value, delay <= window, delay <= within)
            for (kind, value), delay in zip(outcomes, delays, strict=True)
        )
        found = self._observed.get(key)
        if found is None:
            facts = [OutcomeFact(OutcomeType.DELIVERED, None, START)]
            facts += [OutcomeFact(k, v, START + d) for (k, v), d in zip(outcomes, delays, strict=True)]
            found = self._observed[key] = reward_for(self._reward, START, facts).value
        return found
