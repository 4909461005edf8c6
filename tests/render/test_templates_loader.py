"""The template library format: what loads, what every language must cover, and what is refused
with a message naming the file and the key."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from tactful.domain import ActionType, Channel, SupportIntent
from tactful.render import TemplateError, TemplateRenderer
from tactful.render.register import Register
from tactful.render.template_loader import load_library, parse_library_sources

LANGUAGES = ("en", "es", "de", "fr", "it", "pt")


def _sources() -> dict[str, str]:
    root = resources.files("tactful.render").joinpath("templates")
    return {
        name: root.joinpath(name).read_text(encoding="utf-8")
        for name in ("common.yaml", *(f"{x}.yaml" for x in LANGUAGES))
    }


def _doc(name: str) -> dict[str, Any]:
    doc = yaml.safe_load(_sources()[name])
    assert isinstance(doc, dict)
    return doc


def test_the_built_in_library_speaks_six_languages_with_the_same_situations() -> None:
    library = load_library()
    assert library.languages == LANGUAGES
    reference = library.sets["en"].situations()
    for language in LANGUAGES:
        assert library.sets[language].situations() == reference, language


def test_every_support_intent_has_its_own_reply_and_clarify_family() -> None:
    ts = load_library().sets["en"]
    families = {name for name, _ in load_library().families}
    for intent in SupportIntent:
        if intent is SupportIntent.OTHER:
            continue
        assert intent.value in families
        assert intent.value in ts.actions[ActionType.REPLY], intent
        if intent is not SupportIntent.SPAM:
            assert intent.value in ts.actions[ActionType.CLARIFY], intent
    for action in ActionType:
        if action is not ActionType.NO_CONTACT:
            assert "default" in ts.actions[action]


def test_formal_register_expands_contractions_and_the_neutral_one_can() -> None:
    ts = load_library().sets["en"]
    step = ts.actions[ActionType.ESCALATE]["default"].lines[0].text
    assert step.by_register == (
        "I've flagged this to our senior team as a priority.",
        "I've escalated this to our specialist team as a priority.",
        "I have escalated this to our senior support team as a priority.",
    )
    assert (
        step.at(Register.NEUTRAL, expand=True)
        == "I have escalated this to our specialist team as a priority."
    )


def test_english_and_german_wording_is_gsm7_so_an_sms_stays_in_160_character_parts() -> None:
    from tactful.channels.gsm import encoding_of

    library = load_library()
    for language in ("en", "de"):
        ts = library.sets[language]
        for templates in ts.actions.values():
            for template in templates.values():
                for line in template.lines:
                    for variant in filter(None, (line.text, line.soft, line.short, line.voice)):
                        for text in variant.by_register:
                            assert encoding_of(text.replace("{channel}", "")) == "GSM-7", (language, text)


def _mutated(file: str, path: list[str | int], value: object) -> dict[str, str]:
    sources = _sources()
    doc = yaml.safe_load(sources[file])
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    sources[file] = yaml.safe_dump(doc, allow_unicode=True)
    return sources


_DELETE = object()


@pytest.mark.parametrize(
    ("file", "path", "value", "message"),
    [
        ("common.yaml", ["version"], _DELETE, "version"),
        ("common.yaml", ["version"], "", "version"),
        ("common.yaml", ["languages"], ["en", "en"], "distinct"),
        ("common.yaml", ["languages"], ["en", "xx"], "xx.yaml: file not found"),
        ("common.yaml", ["thresholds", "formal_from"], 1.5, "thresholds.formal_from"),
        ("common.yaml", ["thresholds", "casual_below"], 0.9, "casual_below must not exceed"),
        ("common.yaml", ["thresholds", "colour"], 0.5, "unknown key"),
        ("common.yaml", ["cues", "nofamily.x"], ["y"], "cues.nofamily.x"),
        (
            "en.yaml",
            ["actions", "reply", "default", "lines", 0],
            {"text": "A {{single}} option."},
            "2 or 3 options",
        ),
        (
            "en.yaml",
            ["actions", "reply", "default", "lines", 0],
            {"text": "Sorry \u2014 a dash."},
            "GSM-7 characters or letters",
        ),
        (
            "en.yaml",
            ["actions", "reply", "default", "lines", 0],
            {"text": "Hi {name}."},
            "unknown placeholder",
        ),
        ("en.yaml", ["actions", "reply", "default", "lines", 0], {"text": "Ok.", "role": "aside"}, "aside"),
        ("en.yaml", ["actions", "reply", "default", "lines", 0], {"text": "Ok.", "only": ["fax"]}, "fax"),
        (
            "en.yaml",
            ["actions", "reply", "default", "lines", 0],
            {"text": "Ok.", "colour": "red"},
            "unknown key",
        ),
        ("en.yaml", ["actions", "reply", "default", "lines", 0], {"text": "Ok.", "drop_at": 2}, "drop_at"),
        (
            "en.yaml",
            ["actions", "reply", "default"],
            {"lines": [{"text": "Only optional.", "role": "detail"}]},
            "always kept",
        ),
        ("en.yaml", ["actions", "escalate", "default"], _DELETE, "'default' situation is required"),
        ("en.yaml", ["actions", "dance"], {"default": {"lines": ["x"]}}, "dance"),
        ("en.yaml", ["acknowledgements", "anger"], _DELETE, "missing emotion"),
        ("en.yaml", ["email", "signature"], "", "email.signature"),
        ("es.yaml", ["language"], "pt", "expected 'es'"),
        (
            "de.yaml",
            ["actions", "reply", "billing.invoice"],
            _DELETE,
            "missing situation(s) reply.billing.invoice",
        ),
    ],
)
def test_invalid_templates_are_refused_naming_the_file_and_key(
    file: str, path: list[str | int], value: object, message: str
) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_library_sources(_mutated(file, path, value))
    assert info.value.code == "templates_invalid"


def test_not_yaml_is_refused() -> None:
    sources = _sources()
    sources["fr.yaml"] = "language: [unclosed"
    with pytest.raises(TemplateError, match=r"fr\.yaml: not valid YAML"):
        parse_library_sources(sources)


def test_a_custom_library_directory_is_used_and_its_version_recorded(tmp_path: Any) -> None:
    sources = _sources()
    common = yaml.safe_load(sources["common.yaml"])
    common["version"] = "acme-7"
    common["languages"] = ["en"]
    (tmp_path / "common.yaml").write_text(yaml.safe_dump(common), encoding="utf-8")
    en = yaml.safe_load(sources["en.yaml"])
    en["actions"]["reply"]["default"] = {
        "lines": ["We have your message.", {"role": "step", "text": "We'll reply soon."}]
    }
    (tmp_path / "en.yaml").write_text(yaml.safe_dump(en), encoding="utf-8")
    from tactful.domain import Action, Signals, ToneProfile
    from tactful.render import RenderRequest

    renderer = TemplateRenderer(tmp_path)
    out = renderer.render(
        RenderRequest(
            action=Action(type=ActionType.REPLY),
            channel=Channel.VOICE,
            inbound_channel=Channel.VOICE,
            tone=ToneProfile(warmth=0.0, empathy=0.0, directness=0.5),
            signals=Signals(intent="smalltalk"),
        )
    )
    assert renderer.version == out.reply.template_version == "acme-7"
    assert renderer.languages == ("en",)
    assert out.reply.text.startswith("We have your message.")
    assert "We'll reply soon." in out.reply.text
