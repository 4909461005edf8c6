"""Rebuilds ``labelled_turns.csv``: weak rules read every real customer turn, then the hand
corrections in ``CORRECTIONS`` (turns read one by one and judged by a person) override them.

A turn no rule is sure about stays unlabelled: ``other`` is given only to what is plainly not a
support need, so unlabelled never turns into "confidently off-topic". Rules run in priority order;
the first family that matches wins (an opt-out or a request for a person says more about what to
do next than the topic it mentions).

    python -m tactful.signals.support.labeller [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Final

from tactful.domain.intents import SupportIntent as S
from tactful.signals.datasets import data_dir
from tactful.signals.support.turns import LABELS_FILE, Turn, customer_turns


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


RULES: Final[tuple[tuple[S, re.Pattern[str]], ...]] = (
    (
        S.OPT_OUT,
        _rx(
            r"\bunsubscribe\b",
            r"\bstop (?:texting|messaging|emailing|calling|contacting) me\b",
            r"\bstop sending me (?:emails|texts|messages|spam|offers)\b",
            r"\bremove me from\b",
            r"\bopt(?:ed)? out\b",
        ),
    ),
    (
        S.HUMAN_AGENT,
        _rx(
            r"\b(?:speak|talk|chat)(?:ing)? (?:to|with) (?:a |an |your |the |some )?(?:real |actual |live )?"
            r"(?:human|person|manager|supervisor|agent|representative|rep|someone|somebody)\b",
            r"\b(?:real|actual|live) (?:person|human|agent)\b",
            r"\b(?:can|could) (?:someone|you|somebody) call me\b",
            r"\bgive me a call\b",
            r"\bphone number (?:to|for) (?:call|reach)\b",
        ),
    ),
    (
        S.FRAUD,
        _rx(
            r"\bhack(?:ed|er|ers)\b",
            r"\bunauthori[sz]ed\b",
            r"\bfraud",
            r"\bscam(?:med)?\b",
            r"\bstole[n]?\b",
            r"\bdid(?:n't| not) (?:make|authori[sz]e) (?:this|these|that|those|the)? ?"
            r"(?:purchase|charge|transaction|payment)",
            r"\bphishing\b",
            r"\bsomeone (?:used|logged|accessed)",
        ),
    ),
    (
        S.ACCOUNT_ACCESS,
        _rx(
            r"\bpassword\b",
            r"\blog(?:ged)? ?in\b",
            r"\bsign(?:ed)? ?in\b",
            r"\blocked out\b",
            r"\blocked my account\b",
            r"\baccount (?:is |was |got |has been )?(?:locked|suspended|disabled|blocked)",
            r"\bverification code\b",
            r"\b2fa\b",
            r"\btwo[- ]factor\b",
            r"\bcan'?t access\b",
            r"\bcannot access\b",
            r"\bsecurity code\b",
            r"\bapple ?id\b",
        ),
    ),
    (S.REFUND, _rx(r"\brefund", r"\bmoney back\b", r"\breimburs", r"\bchargeback\b")),
    (
        S.CANCELLATION,
        _rx(
            r"\bcancel+(?:ing|ed|ation)? (?:my |the |our )?(?:subscription|account|service|plan|"
            r"membership|contract|prime)",
            r"\b(?:want|trying|need|how) to cancel\b",
        ),
    ),
    (
        S.ORDER_STATUS,
        _rx(
            r"\bwhere(?:'s| is) my (?:order|package|parcel|delivery|item|stuff|refund)",
            r"\b(?:hasn'?t|has not|haven'?t|have not|never|didn'?t|did not|not|still not|yet to) "
            r"(?:been )?(?:arrived?|received?|delivered|shipped|come|turned up|showed up)",
            r"\b(?:delivery|deliveries|delivered|package|parcel|shipping|shipment|shipped|"
            r"tracking|courier|dispatched|in transit)\b",
            r"\border (?:status|number)\b",
            r"\bmy order\b",
            r"\blate (?:order|delivery)\b",
        ),
    ),
    (
        S.ORDER_CHANGE,
        _rx(
            r"\bchange (?:my |the )?(?:order|address|shipping|delivery|seat|flight|booking|reservation)",
            r"\breturn (?:my|the|an|this|it)\b",
            r"\bexchange (?:my|the|it|an|this)\b",
            r"\brebook",
            r"\breschedul",
        ),
    ),
    (
        S.BILLING,
        _rx(
            r"\bbill(?:ed|ing)?\b",
            r"\bcharg(?:e|ed|es|ing)\b",
            r"\binvoice",
            r"\bpayment",
            r"\bfees?\b",
            r"\bovercharg",
            r"\bprice\b",
            r"\bpricing\b",
            r"\bpaid\b",
            r"\bdebit",
            r"\breceipt\b",
            r"\bgift ?card\b",
            r"\bpromo(?:tion)? code\b",
        ),
    ),
    (
        S.TECHNICAL_ISSUE,
        _rx(
            r"\bnot working\b",
            r"\b(?:doesn'?t|does not|don'?t|won'?t|isn'?t|can'?t|cannot|"
            r"wont|cant|doesnt|isnt) (?:work|load|open|connect|play|download|update|install|"
            r"sync|charge|turn on|start|stream|send|find|see|get)",
            r"\berror\b",
            r"\bcrash",
            r"\bbug(?:s|gy)?\b",
            r"\bglitch",
            r"\bfrozen\b",
            r"\bfreez",
            r"\boutage\b",
            r"\b(?:is|are|site|server|servers|app|network|service) (?:down)\b",
            r"\bkeeps? (?:crashing|freezing|restarting|dropping|disconnecting|logging)",
            r"\bno (?:signal|service|internet|connection|sound|wifi)\b",
            r"\bstopped working\b",
            r"\bupdate\b",
            r"\bios ?\d",
            r"\bdisconnect",
            r"\bbattery\b",
            r"\bslow\b",
            r"\bwifi\b",
            r"\binternet\b",
            r"\bproblem with\b",
            r"\bissue with\b",
            r"\bissues? (?:with|on)\b",
            r"\bbroken\b",
            r"\bnot loading\b",
        ),
    ),
    (
        S.ACCOUNT_CHANGE,
        _rx(
            r"\bchange (?:my )?(?:email|name|number|phone number|details|username|plan)",
            r"\bupdate (?:my )?(?:email|name|number|details|address|card|payment)",
            r"\bdelete (?:my )?account\b",
            r"\bclose (?:my )?account\b",
            r"\bmerge (?:my )?accounts?",
        ),
    ),
    (
        S.COMPLAINT,
        _rx(
            r"\bworst\b",
            r"\bterrible\b",
            r"\bawful\b",
            r"\bhorrible\b",
            r"\bridiculous\b",
            r"\bdisappoint",
            r"\bunacceptable\b",
            r"\bpoor (?:service|customer)",
            r"\brude\b",
            r"\bdisgust",
            r"\bpathetic\b",
            r"\bshame\b",
            r"\bjoke\b",
            r"\buseless\b",
            r"\bfed up\b",
            r"\bnever again\b",
            r"\bcomplain",
            r"\bwaste of\b",
            r"\bfurious\b",
            r"\bsick of\b",
            r"\bhorrendous\b",
            r"\bappalling\b",
            r"\bnobody (?:helps|cares|answers)",
        ),
    ),
    (
        S.PRODUCT_QUESTION,
        _rx(
            r"\bhow (?:do|can|would|should) (?:i|we|you)\b",
            r"\bis (?:it|there) (?:possible|a way)\b",
            r"\bdo you (?:have|sell|offer|ship|support|know)\b",
            r"\bwhen (?:will|is|does|do)\b",
            r"\bcan i\b",
            r"\bis there any way\b",
            r"\bdoes (?:the|this|it)\b.*\?",
            r"\bwhat (?:is|are|does)\b.*\?",
            r"\bwhy (?:is|does|do|can'?t|are)\b.*\?",
        ),
    ),
)
_THANKS: Final = _rx(
    r"^\W*(?:thanks?|thank you|thx|ty|cheers|many thanks|great|perfect|awesome|brilliant|"
    r"ok(?:ay)?,? thanks?|got it,? thanks?|will do,? thanks?)\b",
    r"\b(?:that|it|this) (?:worked|fixed it|did the trick|helped)\b",
    r"\ball (?:good|sorted) now\b",
    r"\bthanks? (?:so|very) much\b",
    r"\bthank you (?:so|very) much\b",
    r"\bappreciate (?:it|the|your)\b",
    r"\bproblem (?:is )?solved\b",
    r"\bsorted now\b",
    r"\bworking now\b",
    r"\bgreat (?:service|job)\b",
)
_MAX_THANKS_WORDS: Final = 25  # a long message that says thanks is usually about something else
# Turns read by a person where the rules are wrong or silent: (source, conversation_id, tweet_id) → label.
CORRECTIONS: Final[dict[tuple[str, str, str], S]] = {}


def weak_label(turn: Turn) -> S | None:
    text = turn.text
    for family, pattern in RULES[:9]:  # opt-out … billing: a topic the customer names outright
        if pattern.search(text):
            return family
    words = len(text.split())
    if words <= _MAX_THANKS_WORDS and _THANKS.search(text):
        return S.THANKS
    for family, pattern in RULES[9:]:
        if pattern.search(text):
            return family
    return None


def build(root: Path) -> list[dict[str, str]]:
    rows = []
    for turn in customer_turns(root):
        label = CORRECTIONS.get(turn.key) or weak_label(turn)
        if label is not None:
            rows.append(
                {
                    "source": turn.source,
                    "conversation_id": turn.conversation_id,
                    "tweet_id": turn.tweet_id,
                    "label": label.value,
                    "part": turn.part,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=LABELS_FILE)
    args = parser.parse_args(argv)
    rows = build(args.data or data_dir())
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["source", "conversation_id", "tweet_id", "label", "part"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    counts = Counter((r["part"], r["label"]) for r in rows)
    for (part, label), n in sorted(counts.items()):
        print(f"{part}\t{label}\t{n}", file=sys.stderr)
    print(f"{len(rows)} labelled turns → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
