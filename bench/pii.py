"""PII detection: recall, precision and cost of three candidates on a synthetic-insertion set.

    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" .venv/bin/python bench/pii.py [--base 600] [--seed 7]

There is no labelled PII data set here, so the evaluation set is built reproducibly: real customer
messages (customer turns of ``twitter-customer-care-cdp/dev.json`` and ``bitext-customer-support``
instructions) with known values inserted at known spans by a seeded generator. This is synthetic
insertion: the values and the phrases around them are ours, only the surrounding messages are
real. About a third of the messages are left as they are, so detections in real text (order
numbers, dates, handles) count against precision. A detection counts when it overlaps a gold span
of the same kind. The candidates:

* ``tactful``: ``tactful.guard.pii.detect_pii`` (compiled patterns, checksums, context rules);
* ``presidio``: Presidio's predefined English pattern recognizers, called directly (no spaCy model,
  so no names or addresses), every result kept (the analyzer's default threshold is 0);
* ``phonenumbers``: ``PhoneNumberMatcher(text, "US", Leniency.VALID)``, phone numbers only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from tactful.guard.pii import detect_pii

DATA = Path(os.environ.get("TACTFUL_DATA", "/work/shared/data"))
KINDS = ("email", "phone", "card", "iban", "national_id", "address", "name")


@dataclass(frozen=True)
class Gold:
    kind: str
    start: int
    end: int


Example = tuple[str, list[Gold]]
Detector = Callable[[str], list[tuple[str, int, int]]]

# -- the generator -----------------------------------------------------------------------------------

FIRST = [
    "Anna",
    "Lukas",
    "Maria",
    "Mohammed",
    "Sofia",
    "Jamal",
    "Chloe",
    "Kenji",
    "Olga",
    "Pedro",
    "Aisha",
    "Liam",
    "Fatima",
    "Noah",
    "Ingrid",
    "Raj",
]
LAST = [
    "Lopez",
    "Schmidt",
    "Okafor",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Dubois",
    "Tanaka",
    "Smith",
    "Haddad",
    "Jensen",
    "Silva",
    "Murphy",
    "Patel",
]
DOMAINS = ["gmail.com", "example.co.uk", "mail.de", "outlook.fr"]
STREETS = ["Baker", "Oak", "Maple", "High", "Station", "Church", "Mill", "Victoria", "Elm", "Park"]
SUFFIX = ["Street", "St", "Road", "Avenue", "Ave", "Lane", "Drive", "Close"]
PHONE_REGIONS = [
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "IN",
    "BR",
    "AU",
    "JP",
    "MX",
    "CA",
    "IE",
    "SE",
    "PL",
    "CH",
    "ZA",
    "NG",
    "SG",
]
IBAN_FORMATS = {
    "DE": "8n10n",
    "GB": "4a6n8n",
    "FR": "5n5n11c2n",
    "NL": "4a10n",
    "ES": "4n4n2n10n",
    "IT": "1a5n5n12c",
}


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        digits = body + check
        total = sum(
            (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
            for i, d in enumerate(int(c) for c in reversed(digits))
        )
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15), ("6011", 16)])
    digits = _luhn_complete(prefix, length, rng)
    sep = rng.choice([" ", "-", ""])
    groups = (
        [digits[i : i + 4] for i in range(0, len(digits), 4)]
        if length == 16
        else [digits[:4], digits[4:10], digits[10:]]
    )
    return sep.join(groups)


def _iban(rng: random.Random) -> str:
    country = rng.choice(sorted(IBAN_FORMATS))
    bban = ""
    spec = IBAN_FORMATS[country]
    i = 0
    while i < len(spec):
        j = i
        while spec[j].isdigit():
            j += 1
        n, kind = int(spec[i:j]), spec[j]
        alphabet = {
            "n": "0123456789",
            "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        }[kind]
        bban += "".join(rng.choice(alphabet) for _ in range(n))
        i = j + 1
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[k : k + 4] for k in range(0, len(compact), 4)) if rng.random() < 0.5 else compact


def _phone(rng: random.Random) -> str:
    region = rng.choice(PHONE_REGIONS)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    for _ in range(20):
        candidate = national[:-4] + "".join(rng.choice("0123456789") for _ in range(4))
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number):
            break
    else:
        number = example
    fmt = rng.choice(
        [
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
        ]
    )
    return phonenumbers.format_number(number, fmt)


def _national_id(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if kind == 1:
        letters = rng.choice(["AB", "JG", "CE", "PR", "SK"])
        d = "".join(rng.choice("0123456789") for _ in range(6))
        return (
            f"{letters} {d[:2]} {d[2:4]} {d[4:]} {rng.choice('ABCD')}"
            if rng.random() < 0.5
            else f"{letters}{d}{rng.choice('ABCD')}"
        )
    if kind == 2:
        n = rng.randint(10_000_000, 99_999_999)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"
    sex, year, month, dept = rng.choice("12"), rng.randint(50, 99), rng.randint(1, 12), rng.randint(1, 95)
    body = f"{sex}{year}{month:02d}{dept:02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return f"{body}{97 - int(body) % 97:02d}"


def _address(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return f"{rng.randint(1, 999)} {rng.choice(STREETS)} {rng.choice(SUFFIX)}"
    if style == 1:
        return f"{rng.choice(['Haupt', 'Linden', 'Bahnhof', 'Schiller'])}straße {rng.randint(1, 120)}"
    return f"{rng.randint(1, 80)} rue de {rng.choice(['Rivoli', 'la Paix', 'Lyon', 'Provence'])}"


def _name(rng: random.Random) -> str:
    return rng.choice(FIRST) + (" " + rng.choice(LAST) if rng.random() < 0.6 else "")


PHRASES: dict[str, tuple[Callable[[random.Random], str], tuple[str, ...]]] = {
    "email": (
        lambda r: f"{r.choice(FIRST).lower()}.{r.choice(LAST).lower()}{r.randint(1, 99)}@{r.choice(DOMAINS)}",
        ("my email is {v}", "email me at {v}", "{v} is my address", "reply to {v} please"),
    ),
    "phone": (
        _phone,
        (
            "call me on {v}",
            "my number is {v}",
            "text me at {v}",
            "you can reach me: {v}",
            "or try {v} after 6pm",
            "{v}",
        ),
    ),
    "card": (_card, ("my card {v} was charged twice", "card number {v}", "I paid with {v}")),
    "iban": (_iban, ("refund to IBAN {v}", "my account is {v}", "send it to {v}")),
    "national_id": (_national_id, ("my SSN is {v}", "ID number {v}", "national insurance {v}", "DNI {v}")),
    "address": (_address, ("I live at {v}", "deliver to {v}", "ship it to {v} instead", "my address is {v}")),
    "name": (
        _name,
        # the last phrase has no cue: a name-finder without a language model is expected to miss it
        (
            "my name is {v}",
            "Thanks, {v}",
            "\n- {v}",
            "Regards,\n{v}",
            "This is {v}.",
            "I bought it for {v} yesterday",
        ),
    ),
}
SIGNOFFS = ("Thanks, {v}", "\n- {v}", "Regards,\n{v}")


def base_messages(n: int, rng: random.Random) -> list[str]:
    tweets: list[str] = []
    for conv in json.loads((DATA / "twitter-customer-care-cdp" / "dev.json").read_text(encoding="utf-8")):
        tweets.extend(t["message"] for t in conv["dialogContent"] if "client" in t)
    with (DATA / "bitext-customer-support" / "bitext_visible.csv").open(encoding="utf-8") as f:
        instructions = [row["instruction"] for row in csv.DictReader(f)]
    rng.shuffle(tweets)
    rng.shuffle(instructions)
    return [" ".join(t.split()) for t in tweets[: n // 2] + instructions[: n - n // 2]]


def build_set(n_base: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    examples: list[Example] = []
    for base in base_messages(n_base, rng):
        if rng.random() < 0.35:
            examples.append((base, []))  # as it is: any detection here is a false positive
            continue
        text, gold = base, []
        picks = [
            (kind, PHRASES[kind][0](rng), rng.choice(PHRASES[kind][1]))
            for kind in rng.sample(KINDS, k=rng.choice([1, 1, 2]))
        ]
        picks.sort(key=lambda pick: pick[2] in SIGNOFFS)  # a sign-off is placed last: it closes the message
        for kind, value, phrase in picks:
            at_end = phrase in SIGNOFFS
            before, _, after = phrase.partition("{v}")
            if at_end or rng.random() < 0.5:  # append (sign-offs always close the message)
                prefix = text.rstrip() + (
                    "" if before.startswith("\n") else (". " if text.rstrip()[-1:].isalnum() else " ")
                )
                start = len(prefix) + len(before)
                text = prefix + before + value + after
            else:  # prepend, shifting the spans already placed
                lead = before[0].upper() + before[1:] if before else ""
                head = lead + value + after + ". "
                shift = len(head)
                gold = [Gold(g.kind, g.start + shift, g.end + shift) for g in gold]
                start = len(lead)
                text = head + text
            gold.append(Gold(kind, start, start + len(value)))
        examples.append((text, gold))
    return examples


# -- the candidates ----------------------------------------------------------------------------------


def tactful_detector() -> Detector:
    return lambda text: [(s.kind, s.start, s.end) for s in detect_pii(text)]


PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "card",
    "IBAN_CODE": "iban",
    "US_SSN": "national_id",
    "US_ITIN": "national_id",
    "UK_NHS": "national_id",
    "US_PASSPORT": "national_id",
    "US_DRIVER_LICENSE": "national_id",
    "US_BANK_NUMBER": "national_id",
}


def presidio_detector() -> Detector | None:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # offline: never fetch the list
    try:
        from presidio_analyzer import RecognizerRegistry
    except ImportError:
        return None
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers()
    recognizers = [
        r for r in registry.recognizers if r.supported_language == "en" and r.name != "SpacyRecognizer"
    ]

    def detect(text: str) -> list[tuple[str, int, int]]:
        out = []
        for recognizer in recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None) or []:
                kind = PRESIDIO_KINDS.get(result.entity_type)
                if kind is not None:
                    out.append((kind, result.start, result.end))
        return out

    return detect


def phonenumbers_detector() -> Detector:
    def detect(text: str) -> list[tuple[str, int, int]]:
        return [
            ("phone", m.start, m.end)
            for m in phonenumbers.PhoneNumberMatcher(text, "US", phonenumbers.Leniency.VALID)
        ]

    return detect


# -- scoring -----------------------------------------------------------------------------------------


@dataclass
class Score:
    recall: dict[str, float]
    precision: dict[str, float]
    gold: dict[str, int]
    us_mean: float
    us_p50: float


def evaluate(detect: Detector, examples: list[Example], kinds: tuple[str, ...]) -> Score:
    found = {k: 0 for k in kinds}
    gold_n = {k: 0 for k in kinds}
    predicted = {k: 0 for k in kinds}
    correct = {k: 0 for k in kinds}
    for text, _ in examples[:20]:  # warm-up: compiled patterns, lazy imports
        detect(text)
    timings: list[float] = []
    for text, gold in examples:
        t0 = time.perf_counter()
        spans = detect(text)
        timings.append((time.perf_counter() - t0) * 1e6)
        spans = [s for s in spans if s[0] in kinds]
        for g in gold:
            if g.kind in kinds:
                gold_n[g.kind] += 1
                found[g.kind] += any(k == g.kind and s < g.end and e > g.start for k, s, e in spans)
        for k, s, e in set(spans):
            predicted[k] += 1
            correct[k] += any(g.kind == k and s < g.end and e > g.start for g in gold)
    return Score(
        recall={k: found[k] / gold_n[k] if gold_n[k] else float("nan") for k in kinds},
        precision={k: correct[k] / predicted[k] if predicted[k] else float("nan") for k in kinds},
        gold=gold_n,
        us_mean=statistics.fmean(timings),
        us_p50=statistics.median(timings),
    )


def _micro(score: Score, kinds: tuple[str, ...]) -> float:
    total = sum(score.gold[k] for k in kinds)
    return (
        sum(score.recall[k] * score.gold[k] for k in kinds if score.gold[k]) / total
        if total
        else float("nan")
    )


def section(n_base: int = 600, seed: int = 7) -> str:
    examples = build_set(n_base, seed)
    candidates: list[tuple[str, Detector | None, tuple[str, ...]]] = [
        ("tactful (patterns + checksums)", tactful_detector(), KINDS),
        ("presidio (pattern recognizers, no spaCy)", presidio_detector(), KINDS),
        ("phonenumbers matcher (US, VALID)", phonenumbers_detector(), ("phone",)),
    ]
    n_gold = sum(len(g) for _, g in examples)
    untouched = sum(1 for _, g in examples if not g)
    lines = [
        "## PII detection: recall, precision and cost",
        "",
        f'`TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" .venv/bin/python bench/pii.py --base {n_base} '
        f"--seed {seed}`: "
        f"{len(examples)} messages ({untouched} real messages left as they are), {n_gold} inserted values. "
        "**Synthetic insertion**: real customer messages (Twitter customer care, Bitext) with values "
        "generated by a seeded generator (phones of 20 countries in international/national/E.164 form, "
        "Luhn-valid cards, mod-97-valid IBANs, SSN/NINO/DNI/NIR, street addresses, names in cues and "
        "sign-offs, and one phrase with a name but no cue) at known spans. "
        "The generator was written together with the detector it scores, so these figures are an upper "
        "bound for the kinds and phrasings it covers, not an estimate on real traffic; detections of real "
        "personal data already in the messages (a few e-mails, a phone number, a name) count as false "
        "positives. Recall R and precision P per kind; a blank P means nothing of that kind was predicted.",
        "",
        "| candidate | " + " | ".join(KINDS) + " | recall (all) | µs/message mean | p50 |",
        "|---|" + "---|" * (len(KINDS) + 3),
    ]
    baseline = None
    for name, detect, kinds in candidates:
        if detect is None:
            lines.append(f"| {name} | not installed |" + " |" * (len(KINDS) + 2))
            continue
        score = evaluate(detect, examples, kinds)
        baseline = baseline or score.us_mean
        cells = []
        for k in KINDS:
            if k not in kinds:
                cells.append("—")
                continue
            p = score.precision[k]
            cells.append(f"R {score.recall[k]:.2f} / P {'' if p != p else f'{p:.2f}'}")
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {_micro(score, kinds):.3f} | {score.us_mean:.1f} "
            f"({score.us_mean / baseline:.1f}×) | {score.us_p50:.1f} |"
        )
    lines += [
        "",
        "Cost is per message on this machine, single-threaded, relative (×) to the first row. Presidio "
        "and phonenumbers are measured here only; the package never imports them.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(section(args.base, args.seed))
