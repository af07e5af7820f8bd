"""Renderers: a Plan as text (rich), a versioned JSON document, or a pull-request comment.

They print what the plan says and decide nothing. Each is imported on first use, so printing
a plan as text loads neither the JSON nor the Markdown renderer (nor the other way round).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deployer.render.jsonplan import dumps_plan, loads_plan, plan_from_json, plan_to_json
    from deployer.render.markdown import MARKDOWN_LIMIT, render_markdown, render_markdown_many
    from deployer.render.text import render_text, text_plain

_HOMES = {
    "dumps_plan": "jsonplan",
    "loads_plan": "jsonplan",
    "plan_from_json": "jsonplan",
    "plan_to_json": "jsonplan",
    "MARKDOWN_LIMIT": "markdown",
    "render_markdown": "markdown",
    "render_markdown_many": "markdown",
    "render_text": "text",
    "text_plain": "text",
}

__all__ = [
    "MARKDOWN_LIMIT",
    "dumps_plan",
    "loads_plan",
    "plan_from_json",
    "plan_to_json",
    "render_markdown",
    "render_markdown_many",
    "render_text",
    "text_plain",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"deployer.render.{_HOMES[name]}"), name)
