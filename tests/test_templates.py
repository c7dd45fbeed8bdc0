"""Templates are ready for a strict Content-Security-Policy (script-src 'self'; style-src 'self'): no inline
script or style, no event-handler attribute, no javascript: URL. Mail templates are exempt (mail clients need
inline styles and run no script). Database-free: reads the files and renders macros in a bare Jinja environment."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "cme" / "static"
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
STATIC_SRC = re.compile(r"""url_for\(\s*['"]static['"]\s*,\s*filename\s*=\s*['"]([^'"]+)['"]\s*\)""")


def page_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html") if "mail" not in p.relative_to(TEMPLATES).parts[:1])


class InlineFinder(HTMLParser):
    """Collects what a strict CSP would block, from template text with the Jinja syntax blanked out (what a
    template emits around `{% if %}` blocks stays, so a conditional `onsubmit=` is still found)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        names = {name for name, _ in attrs}
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"line {line}: event-handler attribute {name}= on <{tag}>")
            elif name == "style":
                self.problems.append(f"line {line}: style= attribute on <{tag}>")
            elif value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"line {line}: javascript: URL in {name}= on <{tag}>")
        if tag == "style":
            self.problems.append(f"line {line}: inline <style> element")
        if tag == "script":
            if "src" not in names:
                self.problems.append(f"line {line}: <script> without src")
            self._script = ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.problems.append(f"line {self.getpos()[0]}: <script> with inline content")
            self._script = None


def inline_problems(source: str) -> list[str]:
    # Blank each Jinja construct but keep its newlines, so reported line numbers match the file.
    finder = InlineFinder()
    finder.feed(JINJA.sub(lambda m: " " + "\n" * m.group().count("\n"), source))
    finder.close()
    return finder.problems


def test_the_walk_covers_page_templates_and_skips_mail():
    walked = {p.relative_to(TEMPLATES).as_posix() for p in page_templates()}
    assert "base.html" in walked and "macros/forms.html" in walked and "activities/organize/manage.html" in walked
    assert not any(name.startswith("mail/") for name in walked)


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: p.relative_to(TEMPLATES).as_posix())
def test_template_has_no_inline_script_handler_or_style(path: Path):
    assert inline_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", [
    '<script>alert(1)</script>',
    '<script src="/static/js/x.js">alert(1)</script>',
    '<form onsubmit="return confirm(\'Sure?\')">',
    '<form method="post" {% if confirm %}onsubmit="return confirm({{ confirm|tojson }})"{% endif %}>',
    '<input onclick="this.select()">',
    '<span class="bar" style="width: {{ share }}%"></span>',
    '<style>.x { color: red }</style>',
    '<a href="javascript:void(0)">x</a>',
])
def test_the_check_finds_what_a_strict_policy_blocks(snippet: str):
    assert inline_problems(snippet)


def test_the_check_allows_a_local_deferred_script_and_data_attributes():
    assert inline_problems(
        """<script src="{{ url_for('static', filename='js/confirm.js') }}" defer></script>
        <form method="post" data-confirm="{{ text }}" class="{% if x %}a{% endif %}"><button>Go</button></form>""") == []


def test_every_local_script_a_template_loads_exists():
    sources = [src for p in page_templates() for src in STATIC_SRC.findall(p.read_text(encoding="utf-8"))]
    assert "js/confirm.js" in sources
    assert [s for s in sources if not (STATIC / s).is_file()] == []


def test_the_base_layout_loads_the_confirm_script():
    head = (TEMPLATES / "base.html").read_text(encoding="utf-8").split("</head>")[0]
    assert re.search(r"""<script src="\{\{ url_for\('static', filename='js/confirm\.js'\) \}\}" defer></script>""", head)


def render_macro(call: str) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.do"],
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["csrf_token"] = lambda: "TOKEN"
    return env.from_string('{% from "macros/forms.html" import post_button %}' + call).render()


def test_post_button_posts_the_csrf_token_and_fields_and_carries_the_confirm_text():
    html = render_macro("""{{ post_button("/a/1/cancel", "Cancel", class_="button button-small button-link danger",
                             confirm="Cancel O'Hara's registration? <now>", fields={"next": "/my/schedule"}) }}""")
    assert re.fullmatch(
        r'<form method="post" action="/a/1/cancel" class="inline-form" data-confirm="Cancel O&#39;Hara&#39;s '
        r'registration\? &lt;now&gt;">\s*<input type="hidden" name="csrf_token" value="TOKEN">\s*'
        r'<input type="hidden" name="next" value="/my/schedule">\s*'
        r'<button type="submit" class="button button-small button-link danger">Cancel</button>\s*</form>', html.strip())
    assert inline_problems(html) == []


def test_post_button_without_confirm_has_no_data_confirm():
    html = render_macro('{{ post_button("/logout", "Log out", class_="link-button") }}')
    assert "data-confirm" not in html and 'class="link-button"' in html
