"""The one Markdown renderer of the library (cme/library/markdown.py): what organizers write comes out as safe HTML.
Database-free; the HTML is read back with a real parser (the standard library's HTMLParser)."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from cme.library.markdown import markdown_text, render_markdown


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would read them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text += data

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parsed(text: str) -> Elements:
    return Elements(str(render_markdown(text)))


def test_script_elements_are_removed_with_their_content():
    page = parsed("Before\n\n<script>alert('stolen')</script>\n\nInline <script>alert(2)</script> after")
    assert page.named("script") == []
    assert "alert" not in page.text
    assert "Before" in page.text and "after" in page.text


@pytest.mark.parametrize("text", [
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
])
def test_links_to_scripts_and_data_lose_their_address(text: str):
    page = parsed(text)
    assert all(not (attrs.get("href") or "").lower().startswith(("javascript", "data", "vbscript"))
               for attrs in page.named("a"))


@pytest.mark.parametrize("text", [
    '<img src="x" onerror="alert(1)">',
    '<p onclick="alert(1)" onmouseover="alert(2)">Hover</p>',
    '<a href="https://example.org" onfocus="alert(1)" style="color:red">ok</a>',
    '<table><tr><td onmouseenter="alert(1)">cell</td></tr></table>',
    "<svg onload=alert(1)><circle r=1></svg>",
])
def test_event_handler_and_style_attributes_are_removed(text: str):
    page = parsed(text)
    assert [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on") or name == "style"] == []
    assert page.named("img") == [] and page.named("svg") == []


def test_frames_objects_forms_and_styles_are_removed():
    page = parsed('<iframe src="https://evil.example"></iframe><object data="x.swf"></object>'
                  '<form action="https://evil.example"><input name="q"></form><style>body{display:none}</style>'
                  '<base href="https://evil.example/">')
    assert {tag for tag, _ in page.tags} & {"iframe", "object", "form", "input", "style", "base"} == set()
    assert "display:none" not in page.text


def test_tables_lists_quotes_code_and_emphasis_are_kept():
    page = parsed(
        "| Dose | Resolution |\n|---|---|\n| 80 mg | 25.9% |\n| 100 mg | 29.9% |\n\n"
        "- first\n- second\n\n1. one\n2. two\n\n> quoted\n\n`code` and **bold**, *italic*, ~~gone~~, H<sub>2</sub>O, x<sup>2</sup>\n\n"
        "```\nblock\n```\n")
    tags = [tag for tag, _ in page.tags]
    for tag in ("table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "blockquote", "code", "pre", "strong",
                "em", "s", "sub", "sup"):
        assert tag in tags, tag
    assert len(page.named("td")) == 4 and "29.9%" in page.text


def test_table_cells_carry_their_columns_name_for_phones():
    page = parsed("| **Dose** | `SVR12` rate |\n|---|---|\n| 80 mg | 25.9% |\n| 100 mg |\n\n"
                  '<table><tr><td data-label="kept" style="color:red">raw</td></tr></table>')
    assert [attrs.get("data-label") for attrs in page.named("td")] == ["Dose", "SVR12 rate", "Dose", "SVR12 rate",
                                                                        "kept"]


def test_links_keep_their_address_and_open_without_handing_over_the_page():
    page = parsed("[the trial](https://doi.org/10.1056/NEJMoa2309000 \"NEJM\") and [write](mailto:news@example.org)")
    links = page.named("a")
    assert [link["href"] for link in links] == ["https://doi.org/10.1056/NEJMoa2309000", "mailto:news@example.org"]
    assert all(link["rel"] == "noopener noreferrer" for link in links) and links[0]["title"] == "NEJM"


def test_a_first_level_heading_becomes_a_second_level_one():
    """The page's title is its only <h1>."""
    page = parsed("# Results\n\n## Methods\n\n### Detail\n\n<h1>Raw</h1>")
    assert [tag for tag, _ in page.tags] == ["h2", "h2", "h3"]
    assert "Raw" in page.text


def test_the_result_is_markup_and_empty_text_gives_nothing():
    assert isinstance(render_markdown("**x**"), Markup)
    assert render_markdown("") == Markup("") and render_markdown(None) == Markup("")


def test_nul_and_odd_characters_do_not_break_rendering():
    assert "ab" in markdown_text("a\x00b")
    assert "zoë名😀" in markdown_text("zoë名😀 & <b>x</b>")


def test_plain_text_has_the_words_without_markup_for_search():
    text = markdown_text("# Results\n\nMASH **resolved** in [29.9%](https://example.org).\n\n| a | b |\n|---|---|\n"
                         "| 1 | 2 |\n\n<script>secret()</script>\n\nA &amp; B < C")
    assert text == "Results MASH resolved in 29.9%. a b 1 2 A & B < C"
