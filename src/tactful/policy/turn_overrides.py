"""Turns the engine settles after the policy: an SMS keyword's confirmation, and a hand-off when the
message's language has no replies."""

from __future__ import annotations

from tactful.domain import Action, ActionType, Channel, ChannelChoice, Preferences, Signals
from tactful.guard.consent import ConsentChange
from tactful.policy.types import PolicyResult
from tactful.render.language import LanguageChoice

CONSENT_RULE = "consent_keyword"
LANGUAGE_RULE = "reply_language"


def hand_off_for_language(result: PolicyResult, language: LanguageChoice) -> PolicyResult:
    """The policy hands turns in a language we cannot answer to a person (``replies``). A turn that
    already goes to a person, says nothing, or confirms an SMS keyword keeps its action."""
    keep = (ActionType.NO_CONTACT, ActionType.HANDOFF_HUMAN, ActionType.ESCALATE)
    if result.action.type in keep or result.channel.primary is None or result.action.rule_id == CONSENT_RULE:
        return result
    action = Action(
        type=ActionType.HANDOFF_HUMAN,
        reason=f"no replies in {language.wanted!r}: a person takes over",
        rule_id=LANGUAGE_RULE,
    )
    return result.model_copy(update={"action": action, "rules_fired": (*result.rules_fired, LANGUAGE_RULE)})


def confirm_consent(
    result: PolicyResult, signals: Signals, change: ConsentChange, before: Preferences
) -> tuple[PolicyResult, Signals]:
    """The decision for an SMS keyword is its confirmation, by SMS (the carriers' rule: one reply
    confirms a STOP), unless SMS was already closed to us: a repeated STOP gets no reply."""
    # HELP is answered whatever the consent (the carriers' rule); a repeated STOP is not.
    closed = change is not ConsentChange.SMS_HELP and (
        before.do_not_contact or (change is ConsentChange.SMS_OPT_OUT and Channel.SMS in before.opted_out)
    )
    action = (
        Action(type=ActionType.NO_CONTACT, reason="SMS already closed: no reply", rule_id=CONSENT_RULE)
        if closed
        else Action(type=ActionType.REPLY, reason=f"SMS keyword: {change.value}", rule_id=CONSENT_RULE)
    )
    confirmed = result.model_copy(
        update={
            "action": action,
            "channel": ChannelChoice(primary=None if closed else Channel.SMS),
            "proactive": False,
            "rules_fired": (*result.rules_fired, CONSENT_RULE),
            "notes": (*result.notes, f"consent: {change.value} from an SMS keyword; binds the next decision"),
        }
    )
    return confirmed, signals.model_copy(update={"intent": change.intent, "intent_confidence": 1.0})
