"""The fast tier's intent recipe: every intent data set here mapped into the ``SupportIntent``
families, with real customer turns weighted highest.

Training: BANKING77 (80 %), CLINC150 train (support classes in full, off-topic classes sampled,
``oos``), Bitext (80 %, down-weighted: synthetic templates), and the labelled real turns' train
part. Dev: the labelled real turns' dev part, the other 20 % of BANKING77 and Bitext, and CLINC150
val mapped the same way; the model card reports accuracy on each (``dev_groups``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from tactful.domain.intents import SupportIntent
from tactful.signals.datasets import read_table, stratified_split
from tactful.signals.recipes import DEV_FRACTION, SEED, Recipe, Split
from tactful.signals.support.families import (
    BANKING77,
    BITEXT,
    BITEXT_WEIGHT,
    CLINC150,
    CLINC_OFF_TOPIC_PER_CLASS,
    CLINC_OOS,
)
from tactful.signals.support.turns import labelled_turns

SEED_WEIGHT: Final = 2.0
REAL_TURN_WEIGHT: Final = 3.0  # real traffic is what the head must fit; the public sets fill the vocabulary
BANKING_WEIGHT: Final = 0.5
OTHER: Final = SupportIntent.OTHER.value
LABELS: Final = tuple(intent.value for intent in SupportIntent)


def _clinc(root: Path, split: str, sample: bool) -> tuple[list[str], list[str]]:
    """CLINC150 rows in families; off-topic classes (``None`` in no family map) become ``other``."""
    by_class: dict[str, list[str]] = defaultdict(list)
    for row in read_table(root / "clinc150" / f"{split}.csv"):
        by_class[row["intent"]].append(row["text"])
    texts: list[str] = []
    labels: list[str] = []
    rng = random.Random(SEED)
    for intent in sorted(by_class):
        rows = by_class[intent]
        if intent in CLINC150:
            family = CLINC150[intent]
            if family is None:
                continue
            texts.extend(rows)
            labels.extend([family.value] * len(rows))
            continue
        if sample and intent != CLINC_OOS:
            rows = rng.sample(rows, min(len(rows), CLINC_OFF_TOPIC_PER_CLASS))
        texts.extend(rows)
        labels.extend([OTHER] * len(rows))
    return texts, labels


def _mapped(
    rows: list[dict[str, str]], text: str, label: str, families: dict[str, SupportIntent | None]
) -> tuple[list[str], list[str]]:
    kept = [(r[text], families[r[label]]) for r in rows if families.get(r[label]) is not None]
    return [t for t, _ in kept], [f.value for _, f in kept if f is not None]


def seed_examples() -> tuple[list[str], list[str]]:
    """The hand-written examples in ``seeds.yaml`` (family → texts)."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("seeds.yaml").read_text(encoding="utf-8"))
    texts: list[str] = []
    labels: list[str] = []
    for family, examples in raw.items():
        SupportIntent(family)  # a typo in the file fails here, not as a silent new class
        texts.extend(str(e) for e in examples)
        labels.extend([family] * len(examples))
    return texts, labels


def support_intent(root: Path) -> Recipe:
    train_t: list[str] = []
    train_y: list[str] = []
    train_w: list[float] = []
    dev_t: list[str] = []
    dev_y: list[str] = []
    groups: list[str] = []

    def add(texts: list[str], labels: list[str], weight: float) -> None:
        train_t.extend(texts)
        train_y.extend(labels)
        train_w.extend([weight] * len(texts))

    def hold(name: str, texts: list[str], labels: list[str]) -> None:
        dev_t.extend(texts)
        dev_y.extend(labels)
        groups.extend([name] * len(texts))

    for name, path, text, label, families, weight in (
        ("banking77", root / "banking77" / "train.csv", "text", "category", BANKING77, BANKING_WEIGHT),
        (
            "bitext",
            root / "bitext-customer-support" / "bitext_visible.csv",
            "instruction",
            "intent",
            BITEXT,
            BITEXT_WEIGHT,
        ),
    ):
        texts, labels = _mapped(read_table(path), text, label, families)
        train_idx, dev_idx = stratified_split(labels, DEV_FRACTION, SEED)
        add([texts[i] for i in train_idx], [labels[i] for i in train_idx], weight)
        hold(name, [texts[i] for i in dev_idx], [labels[i] for i in dev_idx])
    add(*_clinc(root, "train", sample=True), 1.0)
    hold("clinc150", *_clinc(root, "val", sample=False))
    add(*labelled_turns(root, "train"), REAL_TURN_WEIGHT)
    add(*seed_examples(), SEED_WEIGHT)
    hold("real_turns", *labelled_turns(root, "dev"))
    return Recipe(
        signal="intent",
        kind="softmax",
        train=Split(train_t, train_y, train_w),
        dev=Split(dev_t, dev_y),
        dev_groups=groups,
        labels=LABELS,
        dev_note="Support-intent families (domain/intents.py). Dev: the labelled real customer turns' dev "
        "part (Twitter customer care + TweetSumm, conversations with sha256(id) % 5 == 1; the reserved "
        "fifth is never read), a stratified 20 % of BANKING77 train and of Bitext (seed 42), and CLINC150 "
        "val (off-topic classes and oos as `other`); trained on the rest (real turns weight 3, BANKING77 "
        "0.5, Bitext 0.3, CLINC150 off-topic classes 15 queries each) and the hand-written examples of "
        "support/seeds.yaml in six languages (weight 2).",
        data="Twitter customer care dev conversations (Apache-2.0; Twitter terms) and TweetSumm "
        "(CDLA-Sharing-1.0; tweets CC BY-NC-SA 4.0), labels in signals/support/labelled_turns.csv; "
        "BANKING77 (CC BY 4.0), CLINC150 (CC BY 3.0), Bitext customer-support sample (CDLA-Sharing-1.0)",
        regularisation=10.0,
    )
