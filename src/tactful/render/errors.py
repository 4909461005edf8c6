"""Errors raised by the renderer."""

from __future__ import annotations

from tactful.errors import TactfulError


class TemplateError(TactfulError):
    """A template file failed to parse or validate. Raised at load, never while rendering."""

    code = "templates_invalid"
    status = 422
