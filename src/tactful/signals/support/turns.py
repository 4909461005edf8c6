"""Real customer turns (Twitter customer care, TweetSumm) and their support-intent labels.

The labels live in ``labelled_turns.csv`` beside this module — references and labels only
(``source``, ``conversation_id``, ``tweet_id``, ``label``, ``part``), never the tweets: the text is
read from the shared data at training time. ``labeller.py`` rebuilds the file.

Conversations in the decision-quality reserved split (sha256 of the conversation id mod 5 == 0)
are never read here. Of the rest, ``DEV_BUCKET`` (mod 5 == 1) is the dev part the model card
reports; the intent head trains on the other three fifths.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tactful.errors import InputRejected

LABELS_FILE: Final = Path(__file__).with_name("labelled_turns.csv")
# 140 dev-part turns (3+ words, seeded sample) read one by one and marked angry (1) or not (0) by a
# person: angry or clearly upset at the company (hostility, sarcasm, "I'm done", repeated failures),
# not merely reporting a fault. Never trained on.
ANGER_FILE: Final = Path(__file__).with_name("anger_turns.csv")
RESERVED_BUCKET: Final = 0
DEV_BUCKET: Final = 1
_HANDLE: Final = re.compile(r"(?:^|(?<=\s))@\w+")
_URL: Final = re.compile(r"https?:\s?//\S+")


def bucket(conversation_id: str) -> int:
    """The conversation's fifth: 0 is reserved for the decision-quality evaluation."""
    return int(hashlib.sha256(conversation_id.encode()).hexdigest(), 16) % 5


def clean(text: str) -> str:
    """The tweet as a support message: @handles and links dropped, whitespace folded."""
    return " ".join(_URL.sub(" ", _HANDLE.sub(" ", text)).split())


@dataclass(frozen=True)
class Turn:
    source: str  # "twcs" or "tweetsumm"
    conversation_id: str
    tweet_id: str
    text: str  # cleaned
    position: int  # the turn's index among the conversation's customer turns

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.conversation_id, self.tweet_id)

    @property
    def part(self) -> str:
        return "dev" if bucket(self.conversation_id) == DEV_BUCKET else "train"


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file", code="bad_data_file") from None


def customer_turns(root: Path) -> Iterator[Turn]:
    """Every non-empty customer turn outside the reserved split, in file order."""
    conversations = _read_json(root / "twitter-customer-care-cdp" / "dev.json")
    assert isinstance(conversations, list)
    for conversation in conversations:
        conv_id = conversation["dialogHeader"]["sessionID"]
        if bucket(conv_id) == RESERVED_BUCKET:
            continue
        position = 0
        for turn in conversation["dialogContent"]:
            if "client" in turn and (text := clean(turn["message"])):
                yield Turn("twcs", conv_id, str(turn["tweet_ID"]), text, position)
                position += 1
    path = root / "tweetsumm" / "tweetsumm_visible.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file", code="bad_data_file") from None
    for line in lines:
        dialogue = json.loads(line)
        conv_id = dialogue["conversation_id"]
        if bucket(conv_id) == RESERVED_BUCKET:
            continue
        position = 0
        for turn in dialogue["turns"]:
            if turn["speaker"] == "customer" and (text := clean(turn["text"])):
                yield Turn("tweetsumm", conv_id, str(turn["tweet_id"]), text, position)
                position += 1


def read_labels(path: Path = LABELS_FILE) -> dict[tuple[str, str, str], str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            (r["source"], r["conversation_id"], r["tweet_id"]): r["label"] for r in csv.DictReader(handle)
        }


def labelled_turns(root: Path, part: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of the labelled turns in ``part`` ("train" or "dev")."""
    labels = read_labels()
    texts: list[str] = []
    gold: list[str] = []
    for turn in customer_turns(root):
        label = labels.get(turn.key)
        if label is not None and turn.part == part:
            texts.append(turn.text)
            gold.append(label)
    return texts, gold


def anger_turns(root: Path) -> tuple[list[str], list[str]]:
    """(texts, "0"/"1" labels) of the hand-labelled anger turns."""
    with ANGER_FILE.open(encoding="utf-8", newline="") as handle:
        wanted = {
            (r["source"], r["conversation_id"], r["tweet_id"]): r["angry"] for r in csv.DictReader(handle)
        }
    texts: list[str] = []
    gold: list[str] = []
    for turn in customer_turns(root):
        label = wanted.get(turn.key)
        if label is not None:
            texts.append(turn.text)
            gold.append(label)
    return texts, gold
