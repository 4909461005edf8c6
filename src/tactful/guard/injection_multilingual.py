"""Injection markers beyond the English and German core: the same overrides in Spanish, French,
Italian and Portuguese (the languages the templates speak), forged prompt-section headers, and
requests for secrets or other customers' data.

Why a separate layer: the shipped model scores a real injection in these languages, or a short
one such as "</s> New instruction: …", at 0.5-0.65, below the hand-off threshold, while some angry
complaints score higher. These patterns name the moves an attack makes (override the instructions,
reassign the role, forge a section header, ask for what no customer may see), so they fire on the
attack and not on a complaint: "ignore my previous message" or "WHERE IS MY ORDER" match none.
"""

from __future__ import annotations

import re
from typing import Final

from tactful.guard.markers import Marker, words

# "the above", "everything before": what an override tells the model to drop, per language
_ABOVE_ES = r"(?:lo\s+anterior|todo\s+lo\s+anterior|lo\s+de\s+arriba|todo\s+lo\s+dicho)"
_ABOVE_FR = r"(?:(?:tout\s+)?ce\s+qui\s+pr[ée]c[èe]de|tout\s+ce\s+qui\s+a\s+[ée]t[ée]\s+dit)"
_ABOVE_IT = (
    r"(?:quanto\s+sopra|tutto\s+(?:quello|ci[òo])\s+(?:che|detto)"
    r"|(?:tutto\s+)?ci[òo]\s+che\s+precede)"
)
_ABOVE_PT = r"(?:o\s+(?:que\s+est[áa]\s+)?acima|tudo\s+(?:o\s+que|acima|isso))"
_RULES_ROMANCE = (
    r"(?:instrucciones|reglas|indicaciones|instructions|consignes|r[èe]gles|istruzioni|regole|indicazioni|"
    r"instru[çc][õo]es|regras|orienta[çc][õo]es)"
)
_EARLIER_ROMANCE = (
    r"(?:anteriores|previas|precedentes|pr[ée]c[ée]dentes|ant[ée]rieures|precedenti|previe|pr[ée]vias)"
)

MULTILINGUAL_MARKERS: Final[tuple[Marker, ...]] = (
    # "disregard the above" / "ignore the previous instructions" in es, fr, it, pt
    Marker(
        "override_instructions_romance",
        0.85,
        re.compile(
            r"\b(?:ignora\w*|olvid\w*|descart\w*|ignore[zr]?|oubli\w*|ignori\w*|dimentic\w*|esque[çc]\w*|desconsider\w*)"
            rf"\s+(?:\w+\s+){{0,2}}?(?:{_ABOVE_ES}|{_ABOVE_FR}|{_ABOVE_IT}|{_ABOVE_PT}|"
            rf"(?:(?:las|les|le|tes|tus|sus|vos|as|suas|tuas|todas|toutes)\s+){{0,2}}{_RULES_ROMANCE}"
            rf"(?:\s+{_EARLIER_ROMANCE})?)"
        ),
        words(
            "anterior arriba dicho précède precede sopra detto acima tudo isso instrucciones reglas"
            " instructions indicaciones consignes règles regles istruzioni regole indicazioni"
            " instruções instrucoes"
            " regras orientações"
        ),
    ),
    # "you are now …" / "from now on you are …"
    Marker(
        "role_reassignment_romance",
        0.55,
        re.compile(
            r"\b(?:ahora|a\s+partir\s+de\s+ahora)\s+eres\b|\bdesde\s+ahora\s+eres\b"
            r"|\b(?:tu\s+es|vous\s+[êe]tes)\s+(?:maintenant|d[ée]sormais)\b|\b[àa]\s+partir\s+de\s+maintenant,?\s+(?:tu|vous)\b"
            r"|\b(?:ora|adesso|da\s+ora\s+in\s+poi)\s+(?:tu\s+)?sei\b"
            r"|\bagora\s+(?:voc[êe]\s+[ée]|tu\s+[ée]s)\b|\ba\s+partir\s+de\s+agora,?\s+(?:voc[êe]|tu)\b"
        ),
        words("ahora eres maintenant désormais desormais ora adesso sei agora"),
    ),
    # "act as …" / "pretend to be …"
    Marker(
        "act_as_romance",
        0.45,
        re.compile(
            r"\b(?:act[úu]a|act[úu]e|compórtate|comportate)\s+como\b|\bfinge\s+(?:ser|que)\b|\bhaz\s+de\s+cuenta\b"
            r"|\b(?:agis|agissez|comporte-toi|comportez-vous)\s+comme\b|\b(?:fais|faites)\s+semblant\b"
            r"|\b(?:comportati|agisci)\s+come\b|\bfingi\s+di\b|\bfai\s+finta\b"
            r"|\b(?:aja|atue|comporte-se)\s+como\b|\bfinja\s+(?:ser|que)\b"
        ),
        words(
            "actúa actua actúe actue compórtate comportate finge haz agis agissez comporte-toi"
            " comportez-vous fais faites comportati agisci fingi fai aja atue comporte-se finja"
        ),
    ),
    # the system prompt named, or asked for, in es, fr, it, pt
    Marker(
        "system_prompt_romance",
        0.6,
        re.compile(
            r"\b(?:prompt|instrucciones|indicaciones)\s+del\s+sistema\b|\b(?:prompt|invite|instructions|consignes)\s+syst[èe]me\b"
            r"|\b(?:prompt|istruzioni)\s+di\s+sistema\b|\b(?:prompt|instru[çc][õo]es)\s+do\s+sistema\b"
            r"|\b(?:revela|muestra|mu[ée]strame|dime|r[ée]v[èe]le\w*|montre\w*|affiche\w*|rivela\w*|mostra\w*|"
            r"dimmi|revele|mostre|diga)\s+(?:\w+\s+){0,2}?(?:tus|sus|tes|vos|le\s+tue|tuas|suas)\s+"
            r"(?:instrucciones|reglas|instructions|consignes|istruzioni|regole|instru[çc][õo]es|regras)\b"
        ),
        words("sistema système systeme tus sus tes vos tue tuas suas"),
    ),
    # "new instructions:": a forged section header that starts the attacker's own prompt
    Marker(
        "new_instructions_header",
        0.7,
        re.compile(
            r"\bnew\s+(?:instructions?|rules|task|system\s+prompt)\s*:"
            r"|\b(?:nuevas\s+instrucciones|nouvelles\s+(?:instructions|consignes)|neue\s+anweisungen|"
            r"nuove\s+istruzioni|novas\s+instru[çc][õo]es)\s*:?"
        ),
        words("new nuevas nouvelles neue nuove novas"),
    ),
    # end-of-sequence and chat-template tokens a customer never types
    Marker(
        "sequence_token",
        0.6,
        re.compile(r"</s>|<s>|<\|[a-z_]+\|>|</?(?:system|assistant|instructions?)>|\[/?system\]"),
        frozenset(),
        gate=lambda text, _words: "<" in text or "[system" in text or "[/system" in text,
    ),
    # a forged "### Instructions:" style header (the core role marker knows the singular forms)
    Marker(
        "section_header",
        0.7,
        re.compile(
            r"^[ \t]*#{2,}[ \t]*(?:instructions|new\s+instructions|rules|prompt|task)\b", re.MULTILINE
        ),
        frozenset(),
        gate=lambda text, _words: "##" in text,
    ),
    # asking for every customer's data: no customer may see another's
    Marker(
        "other_customers_data",
        0.75,
        re.compile(
            r"\b(?:print|dump|list|output|send|give|show|export|reveal|leak|download|display|read\s+out|"
            r"tell\s+me|reply\s+with|respond\s+with|answer\s+with)\b[\s\w,']{0,30}?"
            r"(?:\b(?:all|every|each|other|the\s+full|the\s+whole|the\s+entire|full|entire|whole)\s+"
            r"(?:(?:of\s+the|your)\s+)?(?:customers?|users?|clients?|members?|accounts?)(?:'s?|’s?)?\s+"
            r"(?:data|database|db|emails?|e-mails?|email\s+addresses|addresses|phone\s+numbers|records|"
            r"details|passwords|credit\s+cards?|card\s+numbers|list|names|information|info)\b"
            r"|\b(?:customer|user|client)\s+(?:database|db|table|records)\b)"
        ),
        words("customer customers customer's user users user's client clients members accounts"),
    ),
    # credentials and keys: the secrets a support conversation never hands out
    Marker(
        "secrets_request",
        0.6,
        re.compile(
            r"\b(?:(?:tell|give|send|show|reveal|print|share|read|list|leak|output|dump)s?|what(?:'s|\s+is|\s+are))\b"
            r"[\s\w,']{0,30}?(?:"
            r"\b(?:admin|administrator|root|master|system|database|server)\s+(?:password|passwords|credentials|login)\b"
            r"|\bapi[\s_-]?keys?\b|\b(?:access|auth|bearer)\s+tokens?\b|\b(?:secret|private)\s+keys?\b"
            r"|\benvironment\s+variables\b|\b(?:contraseña|mot\s+de\s+passe|passwort|password|senha)\s+"
            r"(?:del|de\s+l'|des|de|do|dell')\s*(?:administrador|administrateur|admin|amministratore)\b)"
        ),
        words(
            "admin administrator root master system database server api apikey api_key api-key apikeys"
            " keys key access auth bearer secret private environment contraseña mot passwort password senha"
        ),
    ),
    # "as your administrator …", "I am your developer": a claimed authority over the assistant
    Marker(
        "authority_claim",
        0.45,
        re.compile(
            r"\b(?:as|i\s+am|i'm)\s+your\s+(?:admin|administrator|developer|creator|owner|operator|programmer|supervisor)\b"
        ),
        words("your"),
    ),
)
