"""Checks a generated reply must pass before it may be sent.

Each check returns a short machine-readable reason; the decision records them. A generated reply is
refused when it:

- ``leaked_token``: carries a PII token that was not in this customer's own message (another
  customer's placeholder, or one the model made up);
- ``leaked_value``: carries raw personal data (the guard's detectors find an e-mail, phone, card ...);
- ``prompt_leak``: repeats the system prompt or talks about its instructions, or echoes our delimiters;
- ``unbacked_promise``: promises a refund, credit, compensation or the like the action does not say;
- ``tone_miss``: reads, by the renderer's tone scorer, further from the target than ``TONE_LIMIT``;
- ``echo``: mostly repeats the customer's own message back;
- ``unfinished``: stops mid-sentence (the model ran out of tokens), except in e-mail, whose sign-off
  ends without punctuation;
- ``empty`` / ``too_long``: says nothing, or far more than the channel takes.

``echo``, ``unfinished`` and the "as a chatbot" / "the customer's message" patterns were added after
reading SmolLM2-135M's replies in the judged sample (docs/generation.md): it passed the first
version of the checks with replies like these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tactful.channels.tokens import PII_TOKEN
from tactful.domain import TONE_ATTRIBUTES, Action, Channel, ToneAttribute, ToneProfile
from tactful.guard.pii import detect_pii
from tactful.render.tone_estimate import ToneScorer

#: Mean absolute gap over the five tone attributes above which a generated reply is refused. The
#: templates' own tolerance is 0.15 per attribute; free text is allowed about twice that on average.
TONE_LIMIT = 0.3
#: Characters a channel takes before a reply is "far too long" (the fitter would cut it anyway;
#: a reply this long usually rambles or repeats its prompt).
MAX_CHARS: dict[Channel, int] = {
    Channel.SMS: 480,
    Channel.VOICE: 400,
    Channel.CHAT: 700,
    Channel.SOCIAL: 280,
    Channel.SOCIAL_DM: 700,
    Channel.EMAIL: 2500,
}
_PROMISE = re.compile(
    r"\b(?:will|'ll|shall|have|has|'ve|are going to|am going to|is being|are being|been)\b[^.!?\n]{0,40}?"
    r"\b(refund|reimburse|credit|compensat|discount|voucher|money back|free of charge|waive)\w*",
    re.IGNORECASE,
)
_INSTRUCTION_TALK = re.compile(
    r"\b(system prompt|my instructions|these rules|i was told to|as an ai|language model|"
    r"i am an ai|i'm an ai|ignore (?:all|previous)|as an? (?:chatbot|bot|virtual assistant|assistant)|"
    r"the customer'?s message|customer message)\b|</?(?:customer_message|knowledge|passage)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
SHINGLE = 7  # words: a run this long copied from the system prompt is a leak, not a coincidence
ECHO_SHARE = 0.5  # of the draft's word trigrams found in the customer's message: a parrot, not a reply
_ENDINGS = (*tuple(".!?…)\"'»"), "🙂", "😊")


@dataclass(frozen=True)
class CheckResult:
    failures: tuple[str, ...]
    tone_distance: float
    measured: dict[ToneAttribute, float]

    @property
    def passed(self) -> bool:
        return not self.failures


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def _echoes(draft: str, customer_text: str) -> bool:
    def trigrams(text: str) -> set[tuple[str, ...]]:
        words = [w.lower() for w in _WORD.findall(PII_TOKEN.sub(" ", text))]
        return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}

    mine = trigrams(draft)
    return bool(mine) and len(mine & trigrams(customer_text)) / len(mine) >= ECHO_SHARE


def tone_distance(measured: dict[ToneAttribute, float], target: ToneProfile) -> float:
    gaps = [abs(measured[a] - float(getattr(target, a))) for a in TONE_ATTRIBUTES]
    return round(sum(gaps) / len(gaps), 4)


def check_generated(
    text: str,
    *,
    channel: Channel,
    action: Action,
    tone: ToneProfile,
    language: str,
    customer_text: str,
    system_prompt: str,
    scorer: ToneScorer,
    allowed_tokens: frozenset[str] = frozenset(),
) -> CheckResult:
    failures: list[str] = []
    stripped = text.strip()
    if not stripped:
        return CheckResult(("empty",), 1.0, dict.fromkeys(TONE_ATTRIBUTES, 0.0))
    if len(stripped) > MAX_CHARS[channel]:
        failures.append("too_long")
    own = set(PII_TOKEN.findall(customer_text)) | allowed_tokens
    if any(token not in own for token in PII_TOKEN.findall(stripped)):
        failures.append("leaked_token")
    if detect_pii(PII_TOKEN.sub(" ", stripped)):
        failures.append("leaked_value")
    if _echoes(stripped, customer_text):
        failures.append("echo")
    if channel is not Channel.EMAIL and not stripped.endswith(_ENDINGS):
        failures.append("unfinished")
    if _INSTRUCTION_TALK.search(stripped) or _shingles(stripped) & _shingles(system_prompt):
        failures.append("prompt_leak")
    allowed = f"{action.type.value} {action.reason} {action.rule_id or ''}".lower()
    for match in _PROMISE.finditer(stripped):
        if match.group(1).lower()[:6] not in allowed:
            failures.append("unbacked_promise")
            break
    measured = scorer.score(stripped, language, channel)
    distance = tone_distance(measured, tone)
    if distance > TONE_LIMIT:
        failures.append("tone_miss")
    return CheckResult(tuple(failures), distance, measured)
