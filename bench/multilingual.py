"""Signals in six languages: sentiment, anger and intent per language, tier by tier.

    .venv/bin/python bench/multilingual.py [--tiers fast,multilingual,transformer]

1. **Sentiment**: macro-F1 per language on UMSAB val (es/de/fr/it/pt; the heavy tiers never trained
   on val) through each tier's full ``extract``.
2. **Anger and emotion**: ``examples/multilingual/emotion.csv`` — 72 support messages written for
   this check, 12 per language (en/es/de/fr/it/pt, the same situations in each), labelled with the
   dominant of TweetEval's four emotions. Per language: anger recall and precision at
   ``anger ≥ 0.5`` and the accuracy of the top emotion among the four.
3. **Intent across languages**: ``examples/multilingual/intent.csv`` — 10 support requests per
   language (the same ten in each). No intent head is trained on non-English data here, so this
   measures transfer: (a) the tier's own intent (the fast tier's Bitext intents, mapped to the
   support families below) and (b) a logistic regression on the multilingual encoder's vectors
   trained on Bitext's English instructions only (the same mapping), read in each language. Only the
   six families Bitext covers are scored (order_status, refund, account_access, billing,
   human_agent, complaint).
"""

from __future__ import annotations

import argparse
import csv
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from tactful.signals import metrics
from tactful.signals.base import TierUnavailable
from tactful.signals.datasets import column, data_dir, read_table
from tactful.signals.tiers import load_tier

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "multilingual"
LANGUAGES = ("en", "es", "de", "fr", "it", "pt")
#: Bitext's intents folded into the support families they belong to (measurement only).
BITEXT_FAMILY = {
    "track_order": "order_status",
    "delivery_period": "order_status",
    "delivery_options": "order_status",
    "get_refund": "refund",
    "track_refund": "refund",
    "check_refund_policy": "refund",
    "recover_password": "account_access",
    "registration_problems": "account_access",
    "check_invoice": "billing",
    "get_invoice": "billing",
    "payment_issue": "billing",
    "check_payment_methods": "billing",
    "check_cancellation_fee": "billing",
    "contact_human_agent": "human_agent",
    "contact_customer_service": "human_agent",
    "complaint": "complaint",
}
SCORED = frozenset(BITEXT_FAMILY.values())


def sentiment_rows(tiers: dict[str, object]) -> list[str]:
    rows = read_table(data_dir() / "umsab-multilingual-sentiment" / "val.csv")
    lines = ["| tier | " + " | ".join(LANGUAGES[1:]) + " | mean |", "|---|" + "---|" * len(LANGUAGES)]
    for name, tier in tiers.items():
        predicted = [tier.extract(r["text"]).sentiment.value for r in rows]  # type: ignore[attr-defined]
        per = []
        for lang in LANGUAGES[1:]:
            idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
            gold = [rows[i]["label_name"] for i in idx]
            per.append(metrics.classification(gold, [predicted[i] for i in idx])["macro_f1"])
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in per) + f" | {np.mean(per):.3f} |")
    return lines


def emotion_rows(tiers: dict[str, object]) -> list[str]:
    rows = list(csv.DictReader((EXAMPLES / "emotion.csv").open(encoding="utf-8")))
    four = ("anger", "joy", "optimism", "sadness")
    lines = [
        "| tier | language | anger recall | anger precision | top-emotion accuracy |",
        "|---|---|---|---|---|",
    ]
    for name, tier in tiers.items():
        found = [tier.extract(r["text"]) for r in rows]  # type: ignore[attr-defined]
        for lang in LANGUAGES:
            idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
            angry = [i for i in idx if rows[i]["label"] == "anger"]
            flagged = [i for i in idx if found[i].anger >= 0.5]
            recall = sum(i in flagged for i in angry) / len(angry)
            precision = sum(i in angry for i in flagged) / len(flagged) if flagged else 0.0
            top = [max(four, key=found[i].emotions.__getitem__) for i in idx]
            accuracy = np.mean([t == rows[i]["label"] for t, i in zip(top, idx, strict=True)])
            lines.append(f"| {name} | {lang} | {recall:.2f} | {precision:.2f} | {accuracy:.2f} |")
    return lines


def intent_rows(tiers: dict[str, object]) -> list[str]:
    rows = [
        r for r in csv.DictReader((EXAMPLES / "intent.csv").open(encoding="utf-8")) if r["label"] in SCORED
    ]
    lines = ["| model | " + " | ".join(LANGUAGES) + " |", "|---|" + "---|" * len(LANGUAGES)]

    def score(name: str, predicted: list[str]) -> None:
        by: dict[str, list[bool]] = defaultdict(list)
        for r, p in zip(rows, predicted, strict=True):
            by[r["lang"]].append(p == r["label"])
        lines.append(f"| {name} | " + " | ".join(f"{np.mean(by[lang]):.2f}" for lang in LANGUAGES) + " |")

    for name, tier in tiers.items():
        score(
            f"tier `{name}` intent",
            [BITEXT_FAMILY.get(tier.extract(r["text"]).intent, "other") for r in rows],  # type: ignore[attr-defined]
        )
    try:
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

        from tactful.signals.encoders import load_encoder

        encoder = load_encoder("multilingual")
    except TierUnavailable as exc:
        lines.append(f"(multilingual encoder not available: {exc})")
        return lines
    bitext = read_table(data_dir() / "bitext-customer-support" / "bitext_visible.csv")
    train = [
        (t, BITEXT_FAMILY[i])
        for t, i in zip(column(bitext, "instruction"), column(bitext, "intent"), strict=True)
        if i in BITEXT_FAMILY
    ]
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(encoder.encode([t for t, _ in train]), [f for _, f in train])
    score(
        "USE + logistic regression, Bitext English only",
        list(model.predict(encoder.encode([r["text"] for r in rows]))),
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tiers", default="fast,multilingual,transformer")
    parser.add_argument("--parts", default="sentiment,emotion,intent", help="which of the three to run")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    tiers: dict[str, object] = {}
    for name in args.tiers.split(","):
        try:
            tiers[name] = load_tier(name)
        except TierUnavailable as exc:
            print(f"(tier {name} not available: {exc})")
    print("## Signals in six languages\n")
    print(f"`.venv/bin/python bench/multilingual.py --tiers {args.tiers} --parts {args.parts}`\n")
    if "sentiment" in parts:
        print("Sentiment, UMSAB val, macro-F1 per language:\n")
        print("\n".join(sentiment_rows(tiers)) + "\n")
    if "emotion" in parts:
        print("Anger and emotion, examples/multilingual/emotion.csv (12 messages per language):\n")
        print("\n".join(emotion_rows(tiers)) + "\n")
    if "intent" in parts:
        print("Intent families, examples/multilingual/intent.csv (6 scored requests per language):\n")
        print("\n".join(intent_rows(tiers)))


if __name__ == "__main__":
    main()
