"""Rendering: the reply text, from versioned channel-aware templates in the customer's language,
conditioned on the tone and measured against it."""

from tactful.render.errors import TemplateError
from tactful.render.leak import check_pii_leak
from tactful.render.renderer import TemplateRenderer
from tactful.render.request import Renderer, Rendering, RenderRequest
from tactful.render.search import TOLERANCE
from tactful.render.tone_estimate import ToneScorer, tone_of_text

__all__ = [
    "TOLERANCE",
    "RenderRequest",
    "Renderer",
    "Rendering",
    "TemplateError",
    "TemplateRenderer",
    "ToneScorer",
    "check_pii_leak",
    "tone_of_text",
]
