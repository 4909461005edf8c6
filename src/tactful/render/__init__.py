"""Rendering: the reply text, from versioned channel-aware templates conditioned on the tone."""

from tactful.render.errors import TemplateError
from tactful.render.leak import check_pii_leak
from tactful.render.renderer import TemplateRenderer
from tactful.render.request import RenderRequest
from tactful.render.tone_estimate import tone_of_text

__all__ = ["RenderRequest", "TemplateError", "TemplateRenderer", "check_pii_leak", "tone_of_text"]
