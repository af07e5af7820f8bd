"""Renderers: a Plan as text (rich), a versioned JSON document, or a pull-request comment.

They print what the plan says and decide nothing.
"""

from __future__ import annotations

from deployer.render.jsonplan import dumps_plan, loads_plan, plan_from_json, plan_to_json
from deployer.render.markdown import MARKDOWN_LIMIT, render_markdown, render_markdown_many
from deployer.render.text import render_text, text_plain

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
