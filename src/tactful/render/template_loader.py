"""Loading and validating a template library: ``common.yaml`` plus one file per language
(the format is documented at the top of ``templates/common.yaml`` and ``templates/en.yaml``).

Every problem is a ``TemplateError`` naming the file and the key, raised at load, never while
rendering.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from tactful.channels.gsm import GSM7_BASIC, GSM7_EXTENSION
from tactful.domain import ActionType, Channel
from tactful.render.errors import TemplateError
from tactful.render.register import ContractionExpander, Register
from tactful.render.templates import (
    DEFAULT_DROP_AT,
    EMOTIONS,
    OPENER_KINDS,
    Greeting,
    Line,
    Role,
    Template,
    TemplateLibrary,
    TemplateSet,
    Thresholds,
    Variant,
)

_ALTERNATION = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_LINE_KEYS = frozenset(
    {"text", "voice", "short", "role", "drop_at", "soft", "only", "except", "when", "private"}
)
_TEMPLATE_KEYS = frozenset({"subject", "opener", "closer", "ack", "lines"})


def _allowed_character(ch: str) -> bool:
    # A letter outside GSM-7 (á, ç, ã ...) is the language's own and may make an SMS UCS-2; typographic
    # punctuation (curly quotes, dashes, the ellipsis character) would do so for nothing.
    return ch in _GSM7 or unicodedata.category(ch).startswith("L")


class _Compiler:
    def __init__(self, origin: str, expander: ContractionExpander) -> None:
        self.origin = origin
        self.expander = expander

    def fail(self, where: str, message: str) -> TemplateError:
        return TemplateError(f"{self.origin}: {where}: {message}")

    def mapping(self, raw: object, where: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "expected a mapping")
        return {str(k): v for k, v in raw.items()}

    def variant(self, raw: object, where: str, placeholders: frozenset[str] = frozenset()) -> Variant:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(where, "expected a non-empty string")
        resolved: list[str] = []
        for register in Register:

            def choose(match: re.Match[str], register: Register = register) -> str:
                return self._pick(match.group(1), register, where)

            resolved.append(_ALTERNATION.sub(choose, raw).strip())
        casual, neutral, formal = resolved
        texts = (casual, neutral, self.expander.expand(formal), self.expander.expand(neutral))
        used = {name for text in texts for name in _PLACEHOLDER.findall(text)}
        unknown = used - placeholders
        if unknown:
            raise self.fail(
                where, f"unknown placeholder(s) {sorted(unknown)}; allowed here: {sorted(placeholders)}"
            )
        for text in texts:
            bare = _PLACEHOLDER.sub("", text)
            if "{" in bare or "}" in bare:
                raise self.fail(where, f"unbalanced braces in {raw!r}")
            bad = sorted({ch for ch in bare if not _allowed_character(ch)})
            if bad:
                raise self.fail(
                    where, f"text must use GSM-7 characters or letters only, found {bad!r} in {text!r}"
                )
        return Variant((texts[0], texts[1], texts[2]), texts[3], bool(used))

    def _pick(self, body: str, register: Register, where: str) -> str:
        options = body.split("|")
        if len(options) == 3:
            return options[register]
        if len(options) == 2:  # informal|formal: the neutral register reads like the informal one
            return options[1] if register is Register.FORMAL else options[0]
        raise self.fail(where, f"alternation {{{{{body}}}}} needs 2 or 3 options separated by |")

    def variants(self, raw: object, where: str) -> tuple[Variant, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise self.fail(where, "expected at least one text")
        return tuple(self.variant(item, f"{where}[{i}]") for i, item in enumerate(items))

    def channels(self, raw: object, where: str) -> frozenset[Channel]:
        if not isinstance(raw, list):
            raise self.fail(where, "expected a list of channels")
        try:
            return frozenset(Channel(str(c)) for c in raw)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from exc

    def line(self, raw: object, where: str) -> Line:
        spec: dict[str, Any] = {"text": raw} if isinstance(raw, str) else self.mapping(raw, where)
        extra = set(spec) - _LINE_KEYS
        if extra:
            raise self.fail(where, f"unknown key(s) {sorted(extra)}")
        try:
            role = Role(spec.get("role", "lead"))
        except ValueError as exc:
            raise self.fail(where, str(exc)) from exc
        drop_at = spec.get("drop_at", DEFAULT_DROP_AT[role])
        if drop_at is not None and not (isinstance(drop_at, int | float) and 0 <= drop_at <= 1):
            raise self.fail(where, "drop_at must be a number in [0, 1]")
        when = spec.get("when")
        if when not in (None, "negative", "not_negative"):
            raise self.fail(where, "when must be 'negative' or 'not_negative'")
        names = frozenset({"channel"})

        def optional(key: str) -> Variant | None:
            return self.variant(spec[key], f"{where}.{key}", names) if key in spec else None

        return Line(
            text=self.variant(spec.get("text"), f"{where}.text", names),
            role=role,
            drop_at=None if drop_at is None else float(drop_at),
            soft=optional("soft"),
            short=optional("short"),
            voice=optional("voice"),
            only=self.channels(spec["only"], f"{where}.only") if "only" in spec else None,
            exclude=self.channels(spec["except"], f"{where}.except") if "except" in spec else frozenset(),
            when_negative=None if when is None else when == "negative",
            private=bool(spec.get("private", False)),
        )

    def template(self, raw: object, template_id: str) -> Template:
        spec = self.mapping(raw, template_id)
        extra = set(spec) - _TEMPLATE_KEYS
        if extra:
            raise self.fail(template_id, f"unknown key(s) {sorted(extra)}")
        lines_raw = spec.get("lines")
        if not isinstance(lines_raw, list) or not lines_raw:
            raise self.fail(template_id, "lines must be a non-empty list")
        lines = tuple(self.line(item, f"{template_id}.lines[{i}]") for i, item in enumerate(lines_raw))
        if not any(
            line.drop_at is None and line.only is None and line.when_negative is None for line in lines
        ):
            raise self.fail(template_id, "needs at least one line that is always kept (lead or step)")
        return Template(
            template_id=template_id,
            subject=self.variant(spec["subject"], f"{template_id}.subject") if "subject" in spec else None,
            opener=bool(spec.get("opener", True)),
            closer=bool(spec.get("closer", True)),
            ack=self.variant(spec["ack"], f"{template_id}.ack") if "ack" in spec else None,
            lines=lines,
        )


# libyaml's loader when PyYAML was built with it: the library is ~200 KB of YAML.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(source: str, origin: str) -> dict[str, Any]:
    try:
        doc = yaml.load(source, Loader=_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TemplateError(f"{origin}: top level: expected a mapping")
    return {str(k): v for k, v in doc.items()}


def _thresholds(raw: object, c: _Compiler) -> Thresholds:
    spec = c.mapping(raw if raw is not None else {}, "thresholds")
    known = set(Thresholds.__dataclass_fields__)
    extra = set(spec) - known
    if extra:
        raise c.fail("thresholds", f"unknown key(s) {sorted(extra)}")
    for key, value in spec.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise c.fail(f"thresholds.{key}", "must be a number in [0, 1]")
    th = Thresholds(**{k: float(v) for k, v in spec.items()})
    if th.casual_below > th.formal_from or th.frame_casual_below > th.frame_formal_from:
        raise c.fail("thresholds", "casual_below must not exceed formal_from (body and frame)")
    return th


def _keywords(raw: object) -> tuple[str, ...]:
    return tuple(str(k).lower() for k in (raw if isinstance(raw, list) else [raw]))


def _cues(
    raw: object, families: set[str], c: _Compiler
) -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    spec = c.mapping(raw if raw is not None else {}, "cues")
    out: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for key, words in spec.items():
        family, _, name = key.partition(".")
        if not name or family not in families:
            raise c.fail(f"cues.{key}", "a cue key is <family>.<name> with a family from `families`")
        alternatives = "|".join(re.escape(w) for w in sorted(_keywords(words), key=len, reverse=True))
        # A word prefix ("solucionad" matches "solucionado"), whatever the case or the language.
        out.setdefault(family, []).append((key, re.compile(rf"(?<!\w)(?:{alternatives})", re.IGNORECASE)))
    return {family: tuple(items) for family, items in out.items()}


def load_templates(source: str, origin: str = "<templates>") -> TemplateSet:
    """Parse and validate one language's template file."""
    top = _yaml(source, origin)
    bootstrap = _Compiler(origin, ContractionExpander({}))
    language = top.get("language")
    if not isinstance(language, str) or _LANGUAGE_CODE.match(language) is None:
        raise bootstrap.fail("language", "an ISO 639 code such as 'en' is required")
    contractions = bootstrap.mapping(top.get("contractions", {}), "contractions")
    c = _Compiler(origin, ContractionExpander({k: str(v) for k, v in contractions.items()}))

    names_raw = c.mapping(top.get("channel_names"), "channel_names")
    channel_names = {ch: c.variant(names_raw.get(ch.value), f"channel_names.{ch.value}") for ch in Channel}

    greetings: dict[str, Greeting] = {}
    greetings_raw = c.mapping(top.get("greetings"), "greetings")
    for kind in ("message", "letter"):
        g = c.mapping(greetings_raw.get(kind), f"greetings.{kind}")
        greetings[kind] = Greeting(
            named=c.variant(g.get("named"), f"greetings.{kind}.named", frozenset({"name"})),
            anonymous=c.variant(g.get("anonymous"), f"greetings.{kind}.anonymous"),
        )

    openers_raw = c.mapping(top.get("openers"), "openers")
    openers: dict[str, dict[str, Variant]] = {}
    for strength in ("mild", "strong"):
        by_kind = c.mapping(openers_raw.get(strength), f"openers.{strength}")
        openers[strength] = {k: c.variant(by_kind.get(k), f"openers.{strength}.{k}") for k in OPENER_KINDS}
    closers_raw = c.mapping(top.get("closers"), "closers")
    closers = {k: c.variants(closers_raw.get(k), f"closers.{k}") for k in OPENER_KINDS}

    acks_raw = c.mapping(top.get("acknowledgements"), "acknowledgements")
    missing = set(EMOTIONS) - set(acks_raw)
    if missing:
        raise c.fail("acknowledgements", f"missing emotion(s) {sorted(missing)}")
    email = c.mapping(top.get("email"), "email")
    signoffs = c.mapping(email.get("signoffs"), "email.signoffs")
    signature = email.get("signature")
    if not isinstance(signature, str) or not signature.strip():
        raise c.fail("email.signature", "expected a non-empty string")

    actions: dict[ActionType, dict[str, Template]] = {}
    for name, situations_raw in c.mapping(top.get("actions"), "actions").items():
        try:
            action = ActionType(name)
        except ValueError as exc:
            raise c.fail(f"actions.{name}", str(exc)) from exc
        situations = c.mapping(situations_raw, f"actions.{name}")
        actions[action] = {key: c.template(spec, f"{name}.{key}") for key, spec in situations.items()}
    for action in ActionType:
        if action is ActionType.NO_CONTACT:
            continue  # no_contact renders nothing
        if "default" not in actions.get(action, {}):
            raise c.fail(f"actions.{action.value}", "a 'default' situation is required")

    return TemplateSet(
        language=language,
        channel_names=channel_names,
        greetings=greetings,
        openers=openers,
        closers=closers,
        warm_line=c.variant(top.get("warm_line"), "warm_line"),
        further_help=c.variant(top.get("further_help"), "further_help"),
        acknowledgements={e: c.variants(acks_raw[e], f"acknowledgements.{e}") for e in EMOTIONS},
        patience=c.variant(top.get("patience"), "patience"),
        privacy_notice=c.variant(top.get("privacy_notice"), "privacy_notice"),
        public_details_request=c.variant(top.get("public_details_request"), "public_details_request"),
        email_default_subject=c.variant(email.get("default_subject"), "email.default_subject"),
        email_signoffs=(
            c.variant(signoffs.get("plain"), "email.signoffs.plain"),
            c.variant(signoffs.get("warm"), "email.signoffs.warm"),
        ),
        email_signature=signature.strip(),
        actions=actions,
        keep_capital=frozenset(str(w) for w in top.get("keep_capital", []) or []),
        formal_address=bool(top.get("formal_address", False)),
    )


@cache
def builtin_library() -> TemplateLibrary:
    """The templates that ship with Tactful, loaded once per process (they are immutable)."""
    return load_library()


def load_library(directory: Path | Traversable | None = None) -> TemplateLibrary:
    """Load ``common.yaml`` and every language file it lists from ``directory`` (default: the
    built-in templates). Every language must cover the same situations as the first one, so no
    customer gets a poorer reply for writing in another language."""
    root: Path | Traversable = (
        directory if directory is not None else resources.files("tactful.render").joinpath("templates")
    )

    def read(name: str) -> tuple[str, str]:
        path = root.joinpath(name)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError as exc:
            raise TemplateError(f"{path}: file not found") from exc

    source, origin = read("common.yaml")
    common = _yaml(source, origin)
    c = _Compiler(origin, ContractionExpander({}))
    version = common.get("version")
    if not isinstance(version, str) or not version.strip():
        raise c.fail("version", "a non-empty version string is required")
    languages = common.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or any(not isinstance(x, str) or _LANGUAGE_CODE.match(x) is None for x in languages)
        or len(set(languages)) != len(languages)
    ):
        raise c.fail("languages", "a non-empty list of distinct ISO 639 codes is required")
    families_raw = c.mapping(common.get("families"), "families")
    families = tuple((name, _keywords(kw)) for name, kw in families_raw.items())

    sets: dict[str, TemplateSet] = {}
    for language in languages:
        text, where = read(f"{language}.yaml")
        ts = load_templates(text, where)
        if ts.language != language:
            raise TemplateError(f"{where}: language: says {ts.language!r}, expected {language!r}")
        sets[language] = ts
    reference = sets[languages[0]].situations()
    for language, ts in sets.items():
        missing = sorted(f"{a.value}.{k}" for a, k in reference - ts.situations())
        if missing:
            raise TemplateError(f"{language}.yaml: actions: missing situation(s) {', '.join(missing)}")
    return TemplateLibrary(
        version=version.strip(),
        languages=tuple(languages),
        thresholds=_thresholds(common.get("thresholds"), c),
        families=families,
        cues=_cues(common.get("cues"), set(families_raw), c),
        sets=sets,
    )


def parse_library_sources(sources: Mapping[str, str]) -> TemplateLibrary:
    """``load_library`` over in-memory files (name → text); tests and tools build variants with it."""

    class _Files:
        def __init__(self, name: str = "") -> None:
            self._name = name

        def joinpath(self, name: str) -> _Files:
            return _Files(name)

        def read_text(self, encoding: str = "utf-8") -> str:
            if self._name not in sources:
                raise FileNotFoundError(self._name)
            return sources[self._name]

        def __str__(self) -> str:
            return self._name

    return load_library(_Files())  # type: ignore[arg-type]
