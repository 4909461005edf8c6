"""The decision-quality suite: labelled customer turns, real ones by reference, written ones inline.

A suite file is JSON Lines, one case a line. A real turn names its data set and ids (``source``
``twcs`` or ``tweetsumm``, ``conversation_id``, ``tweet_id``) and its text is read from the shared
data folder when the suite is loaded, so the tweets never enter the repository; a written case
carries ``text``. Every case carries the labels of docs/decision-quality.md: ``family`` (a
SupportIntent), ``angry``, ``wants_human``, ``language``, ``channel``, ``accept`` (the first actions a
competent support lead would accept), ``optout`` and ``injection`` (true, false, or null when the
case is not about injection).

Conversations in the reserved split (sha256 of the conversation id mod 5 == 0) are evaluation-only
for the whole project; a suite that references one is rejected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tactful.domain import ActionType, Channel
from tactful.domain.intents import SupportIntent
from tactful.errors import InputRejected
from tactful.signals.support.turns import DEV_BUCKET, RESERVED_BUCKET, bucket, clean, read_labels

SOURCES: Final = ("twcs", "tweetsumm")
Reference = tuple[str, str, str]  # (source, conversation id, tweet id)


def reserved(conversation_id: str) -> bool:
    """The project's decision-quality reserved split: evaluation-only conversations."""
    return bucket(conversation_id) == RESERVED_BUCKET


def trained_on(cases: list[Case]) -> list[Case]:
    """The cases the shipped support-intent head was trained on (its labelled turns outside the dev
    fifth): figures on them overstate the intent model."""
    labelled = read_labels()
    return [
        c
        for c in cases
        if c.reference is not None and c.reference in labelled and bucket(c.reference[1]) != DEV_BUCKET
    ]


@dataclass(frozen=True)
class Case:
    case_id: str
    text: str
    channel: Channel
    family: SupportIntent
    angry: bool
    wants_human: bool
    language: str
    accept: frozenset[ActionType]
    optout: bool
    injection: bool | None  # None: the case says nothing about injection
    source: str  # "written", "twcs" or "tweetsumm"
    reference: Reference | None = None  # a real turn's place in the shared data


def _bad(where: str, message: str) -> InputRejected:
    return InputRejected(f"{where}: {message}", code="bad_suite")


def _text_index(data_root: Path, needed: set[Reference]) -> dict[Reference, str]:
    """The customer turns the suite references, keyed (source, conversation id, tweet id)."""
    found: dict[Reference, str] = {}
    sources = {s for s, _, _ in needed}
    if "twcs" in sources:
        path = data_root / "twitter-customer-care-cdp" / "dev.json"
        for conversation in json.loads(_read(path)):
            conv = str(conversation["dialogHeader"]["sessionID"])
            for turn in conversation["dialogContent"]:
                key = ("twcs", conv, str(turn["tweet_ID"]))
                if "client" in turn and key in needed:
                    found[key] = clean(turn["message"])
    if "tweetsumm" in sources:
        path = data_root / "tweetsumm" / "tweetsumm_visible.jsonl"
        for line in _read(path).splitlines():
            dialogue = json.loads(line)
            conv = str(dialogue["conversation_id"])
            for turn in dialogue["turns"]:
                key = ("tweetsumm", conv, str(turn["tweet_id"]))
                if turn["speaker"] == "customer" and key in needed:
                    found[key] = clean(turn["text"])
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file (the shared data folder)", code="bad_data_file") from None


def _case(where: str, row: dict[str, Any], text: str, source: str, ref: Reference | None = None) -> Case:
    try:
        accept = frozenset(ActionType(a) for a in row["accept"])
        injection = row.get("injection")
        if injection is not None and not isinstance(injection, bool):
            raise ValueError("injection must be true, false or null")
        if not accept:
            raise ValueError("accept must name at least one action")
        return Case(
            case_id=str(row["id"]),
            text=text,
            channel=Channel(row["channel"]),
            family=SupportIntent(row["family"]),
            angry=bool(row["angry"]),
            wants_human=bool(row["wants_human"]),
            language=str(row["language"]),
            accept=accept,
            optout=bool(row.get("optout", False)),
            injection=injection,
            source=source,
            reference=ref,
        )
    except KeyError as exc:
        raise _bad(where, f"missing field {exc.args[0]!r}") from None
    except (ValueError, TypeError) as exc:
        raise _bad(where, str(exc)) from None


def parse_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file", code="bad_data_file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise InputRejected(f"{path}: not a UTF-8 text file ({exc})", code="bad_data_file") from None
    rows: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(where, f"not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise _bad(where, "each line must be a JSON object")
        rows.append((where, row))
    if not rows:
        raise InputRejected(f"{path}: no cases", code="bad_suite")
    return rows


def load_suite(path: Path, data_root: Path) -> list[Case]:
    """The suite's cases with the real turns' text read from ``data_root`` (the shared data)."""
    rows = parse_rows(path)
    refs: dict[str, Reference] = {}
    for where, row in rows:
        if "text" in row:
            continue
        source, conv, tweet = row.get("source"), row.get("conversation_id"), row.get("tweet_id")
        if source not in SOURCES or not conv or not tweet:
            raise _bad(where, f"a case needs 'text' or a reference (source in {SOURCES}, ids)")
        if reserved(str(conv)):
            raise _bad(where, f"conversation {conv} is in the reserved evaluation split")
        refs[where] = (str(source), str(conv), str(tweet))
    texts = _text_index(data_root, set(refs.values())) if refs else {}
    cases: list[Case] = []
    seen: set[str] = set()
    for where, row in rows:
        if where in refs:
            key = refs[where]
            if key not in texts:
                raise _bad(where, f"no customer turn {key} in {data_root}")
            case = _case(where, row, texts[key], key[0], key)
        else:
            case = _case(where, row, str(row["text"]), "written")
        if case.case_id in seen:
            raise _bad(where, f"duplicate id {case.case_id!r}")
        seen.add(case.case_id)
        cases.append(case)
    return cases
