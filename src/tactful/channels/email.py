"""Email: a subject line, then greeting, body and signature separated by blank lines.

The renderer supplies all four parts. Text from elsewhere (an agent's draft) may arrive as a bare
body; the adapter then adds a greeting and signature in the tone's register, so every email leaving
Tactful has the same structure.
"""

from __future__ import annotations

import re

from tactful.channels.base import FitOnly, require_text
from tactful.channels.sentences import group, shorten, split_paragraphs, split_sentences
from tactful.domain import Channel, Reply, ToneProfile

# Greetings and sign-offs in the languages the reply templates speak (en, es, de, fr, it, pt), so a
# rendered email keeps its own and a bare draft gets one.
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings"
    r"|hola|buenos días|buenas tardes|estimad[oa](?:/a)?"
    r"|hallo|guten tag|guten morgen|sehr geehrte[rn]?|liebe[r]?"
    r"|bonjour|bonsoir|salut|madame|monsieur|cher|chère"
    r"|ciao|buongiorno|buonasera|gentile|salve"
    r"|olá|oi|bom dia|boa tarde|prezad[oa](?:\(a\))?|car[oa])\b[^\n.?]{0,40}[,:]$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^(?:thanks|thank you|many thanks|cheers|take care|all the best|best wishes|(?:with )?(?:kind|best|warm)"
    r"(?:est)? (?:regards|wishes)|regards|best|sincerely|yours (?:sincerely|faithfully|truly)"
    r"|un saludo|saludos|un abrazo|atentamente|(?:reciba )?un cordial saludo|cordialmente"
    r"|viele grüße|liebe grüße|beste grüße|(?:mit )?freundlichen grüßen|herzliche grüße"
    r"|cordialement|bien à vous|à bientôt|bien cordialement|amicalement|bonne journée"
    r"|cordiali saluti|distinti saluti|un saluto|saluti|a presto|un caro saluto"
    r"|atenciosamente|abraços?|um abraço|até logo|cordiais saudações)\b[^\n]{0,30}$",
    re.IGNORECASE,
)
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
SUBJECT_MAX = 78  # RFC 5322's recommended line length; longer subjects get folded or cut by clients


def is_greeting(paragraph: str) -> bool:
    return "\n" not in paragraph and _GREETING.match(paragraph) is not None


def is_signature(paragraph: str) -> bool:
    """A short sign-off line ending in a comma, or followed by a name on the next line."""
    lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
    if not lines or len(paragraph) > 120 or _SIGNOFF.match(lines[0]) is None:
        return False
    return lines[0].endswith(",") or len(lines) > 1


def clean_subject(subject: str) -> tuple[str, bool]:
    """One header-safe line (no CR/LF injection) of at most ``SUBJECT_MAX`` characters; True if cut."""
    flat = " ".join(_HEADER_UNSAFE.sub(" ", subject).split())
    return shorten(flat, lambda s: len(s) <= SUBJECT_MAX)


class EmailChannel(FitOnly):
    def __init__(
        self, *, signature: str = "Customer Support", default_subject: str = "Your support request"
    ) -> None:
        self.channel = Channel.EMAIL
        self._signature = signature
        self._default_subject = default_subject

    def _fallback_greeting(self, tone: ToneProfile) -> str:
        if tone.formality < 0.35:
            return "Hi there,"
        return "Dear customer," if tone.formality >= 0.65 else "Hello,"

    def _fallback_signature(self, tone: ToneProfile) -> str:
        signoff = (
            "Thanks,"
            if tone.formality < 0.35
            else "Kind regards,"
            if tone.formality >= 0.65
            else "Best regards,"
        )
        return f"{signoff}\n{self._signature}"

    def fit(self, text: str, *, subject: str | None = None, tone: ToneProfile) -> Reply:
        require_text(text, self.channel)
        blocks = [b.strip() for b in split_paragraphs(text.replace("\r\n", "\n"))]
        greeting = (
            blocks.pop(0) if len(blocks) >= 2 and is_greeting(blocks[0]) else self._fallback_greeting(tone)
        )
        if len(blocks) >= 2 and is_signature(blocks[-1]):
            signature = "\n".join(line.strip() for line in blocks.pop().split("\n") if line.strip())
        else:
            signature = self._fallback_signature(tone)
        body = [p for block in blocks for p in group(split_sentences(block), 3)]
        fitted_subject, cut = clean_subject(subject or "")
        return Reply(
            channel=self.channel,
            text="\n\n".join([greeting, *body, signature]),
            subject=fitted_subject or self._default_subject,
            truncated=cut,
        )
