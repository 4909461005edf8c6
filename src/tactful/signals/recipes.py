"""What each shipped model is trained and measured on: one ``Recipe`` per signal.

Every recipe reads the shared data (``datasets.data_dir()``), never the held-out test splits, and
splits with fixed seeds. Where a data set has no dev split, a stratified part of its training data
is held out and the shipped model is trained on the rest, so the dev figure is the shipped model's.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tactful.errors import InputRejected
from tactful.signals.datasets import column, read_table, stratified_split

SEED: Final = 42
DEV_FRACTION: Final = 0.2
OTHER: Final = "other"  # the intent of a message no shipped intent fits (what the lexicon tier says too)

# GoEmotions labels folded into the emotions every tier reports.
GOEMOTIONS_TO_EMOTION: Final = {
    "anger": "anger",
    "annoyance": "frustration",
    "disappointment": "frustration",
    "joy": "joy",
    "amusement": "joy",
    "optimism": "optimism",
    "sadness": "sadness",
    "grief": "sadness",
    "fear": "fear",
    "nervousness": "fear",
    "gratitude": "gratitude",
    "confusion": "confusion",
    "neutral": "neutral",
}
EMOTIONS: Final = ("anger", "frustration", "joy", "optimism", "sadness", "fear", "gratitude", "confusion")
POSITIVE: Final = frozenset(
    [
        "admiration",
        "amusement",
        "approval",
        "caring",
        "desire",
        "excitement",
        "gratitude",
        "joy",
        "love",
        "optimism",
        "pride",
        "relief",
    ]
)
NEGATIVE: Final = frozenset(
    [
        "anger",
        "annoyance",
        "disappointment",
        "disapproval",
        "disgust",
        "embarrassment",
        "fear",
        "grief",
        "nervousness",
        "remorse",
        "sadness",
    ]
)


@dataclass
class Split:
    texts: list[str]
    labels: list[str] | list[float]
    weights: list[float] | None = None


@dataclass
class Recipe:
    signal: str  # sentiment, emotion, emotions, intent, formality, politeness, injection
    kind: str  # "softmax" or "linear"
    train: Split
    dev: Split
    dev_note: str  # how the dev split was made
    data: str  # training data and licence, for the model card
    regularisation: float  # C for logistic regression, alpha for ridge
    # Sentiment only: in-domain rows added to training; the dev figure is then k-fold over them.
    in_domain: Split | None = None
    labels: tuple[str, ...] = ()
    dev_class: list[str] = field(default_factory=list)  # politeness: quartile labels of the dev rows
    # Injection only: held-out ordinary messages (never trained on), by source; their false-positive
    # rate at the policy thresholds is reported next to the dev figures.
    negatives: dict[str, list[str]] = field(default_factory=dict)
    # Where each dev row comes from (intent: real turns, BANKING77, ...); accuracy is reported per group.
    dev_groups: list[str] = field(default_factory=list)


def _goemotions(root: Path, split: str) -> list[tuple[str, list[str]]]:
    names = (root / "goemotions" / "emotions.txt").read_text(encoding="utf-8").split()
    rows = read_table(root / "goemotions" / f"{split}.tsv", header=False)
    return [(r["text"], [names[int(i)] for i in r["labels"].split(",")]) for r in rows]


def _sentiment_of(labels: list[str]) -> str | None:
    found = set(labels)
    if found == {"neutral"}:
        return "neutral"
    if found <= POSITIVE:
        return "positive"
    if found <= NEGATIVE:
        return "negative"
    return None  # mixed or ambiguous (surprise, curiosity, confusion, realization): left out


def sentiment(root: Path) -> Recipe:
    texts: list[str] = []
    labels: list[str] = []
    for text, emotions in _goemotions(root, "train"):
        label = _sentiment_of(emotions)
        if label:
            texts.append(text)
            labels.append(label)
    for row in read_table(root / "tweeteval-emotion" / "train.csv"):
        texts.append(row["text"])
        labels.append("negative" if row["label_name"] in ("anger", "sadness") else "positive")
    # UMSAB train (es/de/fr/it/pt tweets): the fast tier's only sentiment data in other languages.
    for row in read_table(root / "umsab-multilingual-sentiment" / "train.csv"):
        texts.append(row["text"])
        labels.append(row["label_name"])
    val = read_table(root / "tweeteval-sentiment" / "val.csv")
    in_domain = Split(column(val, "text"), column(val, "label_name"))
    return Recipe(
        signal="sentiment",
        kind="softmax",
        train=Split(texts, labels, [1.0] * len(texts)),
        dev=in_domain,
        in_domain=in_domain,
        labels=("negative", "neutral", "positive"),
        dev_note=(
            "TweetEval sentiment has no training split here. Trained on GoEmotions train (labels mapped "
            "to positive/negative/neutral, mixed rows dropped) + TweetEval-emotion train (anger, sadness → "
            "negative; joy, optimism → positive) + UMSAB train (es/de/fr/it/pt tweets) + "
            "TweetEval-sentiment val (weight 3). Dev figure: 5-fold "
            "stratified cross-validation over TweetEval-sentiment val (seed 42), each fold's model trained "
            "on everything except that fold; the shipped model is trained on all of it."
        ),
        data="GoEmotions (Apache-2.0), TweetEval emotion + sentiment val (research use; Twitter terms), "
        "UMSAB train (Apache-2.0 release; research use)",
        regularisation=1.0,
    )


def emotion(root: Path) -> Recipe:
    train = read_table(root / "tweeteval-emotion" / "train.csv")
    val = read_table(root / "tweeteval-emotion" / "val.csv")
    texts, labels = column(train, "text"), column(train, "label_name")
    weights = [1.0] * len(texts)
    four = {"anger": "anger", "annoyance": "anger", "joy": "joy", "amusement": "joy", "optimism": "optimism"}
    four |= {"sadness": "sadness", "grief": "sadness", "disappointment": "sadness"}
    for text, emotions in _goemotions(root, "train"):
        if len(emotions) == 1 and emotions[0] in four:
            texts.append(text)
            labels.append(four[emotions[0]])
            weights.append(0.1)  # Reddit comments: helpful, but not tweets
    return Recipe(
        signal="emotion",
        kind="softmax",
        train=Split(texts, labels, weights),
        dev=Split(column(val, "text"), column(val, "label_name")),
        labels=("anger", "joy", "optimism", "sadness"),
        dev_note="TweetEval-emotion official validation split (374 tweets); trained on its train split "
        "+ single-label GoEmotions train rows mapped to the four labels (weight 0.1).",
        data="TweetEval emotion (SemEval-2018; research use), GoEmotions (Apache-2.0)",
        regularisation=3.0,
    )


def emotions(root: Path) -> Recipe:
    def fold(rows: list[tuple[str, list[str]]]) -> Split:
        texts, labels = [], []
        for text, names in rows:
            mapped = {GOEMOTIONS_TO_EMOTION.get(n, OTHER) for n in names}
            if len(mapped) == 1:
                texts.append(text)
                labels.append(mapped.pop())
        return Split(texts, labels)

    return Recipe(
        signal="emotions",
        kind="softmax",
        train=fold(_goemotions(root, "train")),
        dev=fold(_goemotions(root, "dev")),
        labels=(*EMOTIONS, "neutral", OTHER),
        dev_note="GoEmotions official dev split, rows whose labels map to one of the 10 classes.",
        data="GoEmotions (Apache-2.0)",
        regularisation=1.0,
    )


def intent(root: Path) -> Recipe:
    """The support-intent families (``signals/support/recipe.py``; imported here lazily, it builds on
    this module's ``Recipe``)."""
    from tactful.signals.support.recipe import support_intent

    return support_intent(root)


_DETOKENISE_CONTRACTIONS = re.compile(r" (n't|'s|'m|'re|'ll|'ve|'d)\b")
_DETOKENISE_PUNCT = re.compile(r" ([.,!?;:%)])")


def detokenise(sentence: str) -> str:
    """Pavlick's sentences are tokenised ("it 's ."); customers write "it's."."""
    return _DETOKENISE_PUNCT.sub(r"\1", _DETOKENISE_CONTRACTIONS.sub(r"\1", sentence))


def formality(root: Path) -> Recipe:
    rows = [
        r
        for r in read_table(root / "pavlick-formality" / "formality_visible.csv")
        if r["n_annotators"] != "0"
    ]
    train_idx, dev_idx = stratified_split([r["domain"] for r in rows], DEV_FRACTION, SEED)
    train_t = [detokenise(rows[i]["sentence"]) for i in train_idx]
    train_y = [float(rows[i]["avg_score"]) for i in train_idx]
    return Recipe(
        signal="formality",
        kind="linear",
        train=Split(train_t, train_y),
        dev=Split(
            [detokenise(rows[i]["sentence"]) for i in dev_idx], [float(rows[i]["avg_score"]) for i in dev_idx]
        ),
        dev_note="Pavlick & Tetreault visible part, rows with ratings: 20 % held out stratified by genre "
        "(seed 42); ridge regression on the mean rating (−3…3), trained on the other 80 %; sentences "
        'detokenised ("it \'s" → "it\'s").',
        data="Pavlick & Tetreault 2016 formality corpus (research use)",
        regularisation=3.0,
    )


def politeness(root: Path) -> Recipe:
    rows = read_table(root / "stanford-politeness" / "politeness_visible.csv")
    strata = [r["source"] + "/" + r["quartile_label"] for r in rows]
    train_idx, dev_idx = stratified_split(strata, DEV_FRACTION, SEED)
    return Recipe(
        signal="politeness",
        kind="linear",
        train=Split(
            [rows[i]["request"] for i in train_idx], [float(rows[i]["normalized_score"]) for i in train_idx]
        ),
        dev=Split(
            [rows[i]["request"] for i in dev_idx], [float(rows[i]["normalized_score"]) for i in dev_idx]
        ),
        dev_class=[rows[i]["quartile_label"] for i in dev_idx],
        dev_note="Stanford Politeness visible part: 20 % held out stratified by source × quartile label "
        "(seed 42); ridge regression on normalized_score, trained on the other 80 %.",
        data="Stanford Politeness Corpus (research use, cite Danescu-Niculescu-Mizil et al. 2013)",
        regularisation=3.0,
    )


CUSTOMER_HOLDOUT: Final = 0.5  # of the real customer tweets, the part kept for measuring false positives


def customer_tweets(root: Path) -> tuple[list[str], list[str]]:
    """Customer messages of Twitter customer-care dev conversations: (train, held out).

    Split by conversation (seeded), so no conversation's messages land on both sides.
    """
    path = root / "twitter-customer-care-cdp" / "dev.json"
    try:
        conversations = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file", code="bad_data_file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputRejected(f"{path}: not readable JSON ({exc})", code="bad_data_file") from None
    order = list(range(len(conversations)))
    random.Random(SEED).shuffle(order)
    held = set(order[: round(CUSTOMER_HOLDOUT * len(order))])
    train: list[str] = []
    dev: list[str] = []
    for i, conversation in enumerate(conversations):
        for turn in conversation["dialogContent"]:
            if "client" in turn and turn["message"].strip():
                (dev if i in held else train).append(turn["message"])
    return train, dev


def bitext_split(root: Path) -> tuple[list[str], list[str]]:
    """Bitext instructions: (train, dev) — the same seeded split the intent model uses."""
    rows = read_table(root / "bitext-customer-support" / "bitext_visible.csv")
    texts, labels = column(rows, "instruction"), column(rows, "intent")
    train_idx, dev_idx = stratified_split(labels, DEV_FRACTION, SEED)
    return [texts[i] for i in train_idx], [texts[i] for i in dev_idx]


def injection(root: Path) -> Recipe:
    rows = read_table(root / "deepset-prompt-injections" / "train.csv")
    labels = column(rows, "label")
    train_idx, dev_idx = stratified_split(labels, DEV_FRACTION, SEED)
    train_t, train_y = [rows[i]["text"] for i in train_idx], [labels[i] for i in train_idx]
    # deepset's legitimate class is mostly news and trivia questions, so on its own the head learns
    # "not a question" ≈ injection and flags ordinary complaints. Real customer messages as
    # negatives teach it what support traffic looks like; their held-out parts measure that.
    bitext_train, bitext_dev = bitext_split(root)
    tweets_train, tweets_dev = customer_tweets(root)
    negatives = bitext_train + tweets_train
    return Recipe(
        signal="injection",
        kind="softmax",
        train=Split(train_t + negatives, train_y + ["0"] * len(negatives)),
        dev=Split([rows[i]["text"] for i in dev_idx], [labels[i] for i in dev_idx]),
        labels=("0", "1"),
        negatives={"bitext_dev": bitext_dev, "customer_tweets_dev": tweets_dev},
        dev_note="deepset prompt-injections train split: 20 % held out stratified by label (seed 42); "
        "trained on the other 80 % (English and German) plus, as legitimate messages, Bitext "
        "customer-support instructions (the intent model's 80 % training part) and the customer tweets "
        "of half the Twitter customer-care dev conversations (seeded split by conversation). False "
        "positives are measured on the other Bitext 20 % and the other half of the conversations.",
        data="deepset/prompt-injections (Apache-2.0), Bitext customer-support sample (CDLA-Sharing-1.0), "
        "Twitter customer-care dev conversations (Apache-2.0; Twitter terms)",
        regularisation=10.0,
    )


RECIPES: Final[dict[str, Callable[[Path], Recipe]]] = {
    "sentiment": sentiment,
    "emotion": emotion,
    "emotions": emotions,
    "intent": intent,
    "formality": formality,
    "politeness": politeness,
    "injection": injection,
}
