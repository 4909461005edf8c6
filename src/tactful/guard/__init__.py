"""The input guard: normalise, tokenise personal data and score prompt injection, before anything else runs.

``guard`` is the only entry point the pipeline needs. The vault it returns holds raw personal data
in memory only; it is never logged, and the caller decides whether any of it is persisted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tactful.domain import PiiFinding
from tactful.guard.injection import InjectionResult, score_injection
from tactful.guard.pii import PiiSpan, canonical, detect_pii
from tactful.guard.sanitise import GuardLimits, Sanitised, sanitise

__all__ = [
    "GuardLimits",
    "GuardedText",
    "InjectionResult",
    "PiiSpan",
    "Sanitised",
    "detect_pii",
    "guard",
    "sanitise",
    "score_injection",
]

_DEFAULT_LIMITS = GuardLimits()


@dataclass(frozen=True)
class GuardedText:
    text: str  # normalised, with personal data replaced by tokens such as <EMAIL_1>
    pii: tuple[PiiFinding, ...]  # one finding per distinct token, in order of first appearance
    vault: Mapping[str, str]  # token → raw value; in memory only, never log it
    injection: float  # 0..1 heuristic likelihood of prompt injection
    injection_markers: tuple[str, ...]
    #: What the models read: ``text`` with each token numbered per message (``<EMAIL_1>``), as in
    #: their training data. The vault's keyed tokens are random per tenant, so a model reading them
    #: would score the same message differently in two tenants (or after a key rotation).
    model_text: str = ""

    def __post_init__(self) -> None:
        if not self.model_text:
            object.__setattr__(self, "model_text", self.text)

    def __repr__(self) -> str:  # keep raw personal data out of logs and tracebacks
        return (
            f"GuardedText(text={self.text!r}, pii={self.pii!r}, vault=<{len(self.vault)} hidden>, "
            f"injection={self.injection!r}, injection_markers={self.injection_markers!r})"
        )


# A customer typing "<EMAIL_1>" themselves must not be confused with a token the guard placed,
# so look-alikes in the input get their angle brackets replaced.
_LOOKALIKE_RE = re.compile(r"<([A-Z][A-Z_]*_\d+)>")


def _neutralise_lookalikes(text: str) -> str:
    if "<" not in text:
        return text
    return _LOOKALIKE_RE.sub(r"‹\1›", text)


def guard(
    text: str,
    limits: GuardLimits = _DEFAULT_LIMITS,
    tokeniser: Callable[[str, str], str] | None = None,
) -> GuardedText:
    """Sanitise ``text``, replace personal data with tokens and score it for prompt injection.

    ``tokeniser(kind, canonical_value)`` names each value: the engine passes the vault's, which
    gives the same value the same token across messages (``<EMAIL_0412345678>``) without revealing
    it; without one, tokens are numbered per message (``<EMAIL_1>``).
    Raises ``InputRejected`` with code ``text_too_long``, ``text_empty`` or ``invalid_text``.
    """
    clean = sanitise(text, limits)
    normalised = _neutralise_lookalikes(clean.text)
    spans = detect_pii(normalised)

    tokens: dict[tuple[str, str], str] = {}
    numbered: dict[str, str] = {}  # token → its per-message form, for the models
    counters: dict[str, int] = {}
    vault: dict[str, str] = {}
    findings: list[PiiFinding] = []
    parts: list[str] = []
    cursor = 0
    for span in spans:
        key = (span.kind, canonical(span.kind, span.value))
        token = tokens.get(key)
        if token is None:
            counters[span.kind] = counters.get(span.kind, 0) + 1
            token = f"<{span.kind.upper()}_{counters[span.kind]}>"
            if tokeniser is not None:
                keyed = tokeniser(*key)
                # two values of one message on the same keyed token (~1e-10): keep them apart
                token = token if keyed in vault else keyed
            tokens[key] = token
            numbered[token] = f"<{span.kind.upper()}_{counters[span.kind]}>"
            vault[token] = span.value
            findings.append(PiiFinding(kind=span.kind, token=token))
        parts.append(normalised[cursor : span.start])
        parts.append(token)
        cursor = span.end
    parts.append(normalised[cursor:])
    redacted = "".join(parts)
    # Safety net: a value found once is replaced wherever else it occurs verbatim, even where the
    # detector's context rules missed it (e.g. run together with a neighbouring number).
    for token, raw in vault.items():
        if raw in redacted:
            redacted = redacted.replace(raw, token)
    model_text = redacted
    for token, plain in numbered.items():
        if token != plain:
            model_text = model_text.replace(token, plain)

    injection = score_injection(model_text, clean.hidden_removed)
    return GuardedText(
        text=redacted,
        pii=tuple(findings),
        vault=MappingProxyType(vault),
        injection=injection.score,
        injection_markers=injection.markers,
        model_text=model_text,
    )
