"""The template file format: what loads, and what is refused with a useful message."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tactful.domain import Action, ActionType, Channel, Signals, ToneProfile
from tactful.render import RenderRequest, TemplateError, TemplateRenderer
from tactful.render.templates import load_templates


def _default_doc() -> dict[str, Any]:
    text = resources.files("tactful.render").joinpath("templates/default.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def test_default_templates_cover_every_action() -> None:
    ts = TemplateRenderer().templates
    assert ts.version == "templates-2026.11.3"
    for action in ActionType:
        if action is not ActionType.NO_CONTACT:
            assert "default" in ts.actions[action]


def test_formal_register_expands_contractions_at_load() -> None:
    ts = TemplateRenderer().templates
    step = ts.actions[ActionType.ESCALATE]["default"].lines[0].text
    assert step.by_register == (
        "I've flagged this to our senior team as a priority.",
        "I've escalated this to our specialist team as a priority.",
        "I have escalated this to our senior support team as a priority.",
    )


def _mutated(path: list[str | int], value: object) -> str:
    doc = _default_doc()
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return yaml.safe_dump(doc)


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["version"], _DELETE, "version"),
        (["version"], "", "version"),
        (["actions", "reply", "default", "lines", 0], {"text": "A {{single}} option."}, "2 or 3 options"),
        (["actions", "reply", "default", "lines", 0], {"text": "Sorry — a dash."}, "GSM-7"),
        (["actions", "reply", "default", "lines", 0], {"text": "Hi {name}."}, "unknown placeholder"),
        (["actions", "reply", "default", "lines", 0], {"text": "Ok.", "role": "aside"}, "aside"),
        (["actions", "reply", "default", "lines", 0], {"text": "Ok.", "only": ["fax"]}, "fax"),
        (["actions", "reply", "default", "lines", 0], {"text": "Ok.", "colour": "red"}, "unknown key"),
        (["actions", "reply", "default", "lines", 0], {"text": "Ok.", "drop_at": 2}, "drop_at"),
        (
            ["actions", "reply", "default"],
            {"lines": [{"text": "Only optional.", "role": "detail"}]},
            "always kept",
        ),
        (["actions", "escalate", "default"], _DELETE, "'default' situation is required"),
        (["actions", "dance"], {"default": {"lines": ["x"]}}, "dance"),
        (["acknowledgements", "anger"], _DELETE, "missing emotion"),
        (["thresholds", "formal_from"], 1.5, "thresholds.formal_from"),
        (["thresholds", "casual_below"], 0.9, "casual_below must not exceed"),
        (["email", "signature"], "", "email.signature"),
    ],
)
def test_invalid_templates_are_refused_naming_the_key(
    path: list[str | int], value: object, message: str
) -> None:
    with pytest.raises(TemplateError, match=message) as info:
        load_templates(_mutated(path, value), "custom.yaml")
    assert info.value.code == "templates_invalid"
    assert "custom.yaml" in str(info.value)


def test_not_yaml_is_refused() -> None:
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_templates("version: [unclosed", "bad.yaml")


def test_custom_file_version_is_recorded_on_replies(tmp_path: Path) -> None:
    doc = _default_doc()
    doc["version"] = "acme-7"
    doc["actions"]["reply"]["default"] = {
        "lines": ["We have your message.", {"role": "step", "text": "We'll reply soon."}]
    }
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    renderer = TemplateRenderer(path)
    reply = renderer.render(
        RenderRequest(
            action=Action(type=ActionType.REPLY),
            channel=Channel.VOICE,
            inbound_channel=Channel.VOICE,
            tone=ToneProfile(warmth=0.0),
            signals=Signals(intent="smalltalk"),
        )
    )
    assert renderer.version == reply.template_version == "acme-7"
    assert reply.text == "We have your message. We'll reply soon."
