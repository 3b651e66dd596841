"""The pages' Content-Security-Policy runs no inline script or style, so no
template may carry any: scripts are files in docsvc/static/, the texts they
need travel as JSON data blocks, and handlers are attached from the files."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "docsvc"
# The shared templates and every domain's own (docsvc/<domain>/templates/<domain>/).
TEMPLATES = sorted(PACKAGE.glob("**/templates/**/*.html"))


class InlineCode(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= at line {self.getpos()[0]}")
            if name == "style":
                self.found.append(f"style= at line {self.getpos()[0]}")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: address at line {self.getpos()[0]}")


def test_there_are_templates():
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_template_carries_inline_script_handlers_or_styles(template):
    parser = InlineCode()
    parser.feed(template.read_text(encoding="utf-8"))
    assert parser.found == []


def test_the_check_finds_what_it_looks_for():
    parser = InlineCode()
    parser.feed('<script>x()</script><button onclick="y()" style="color:red">a</button><a href=" javascript:z()">b</a>')
    assert len(parser.found) == 4
