"""Markdown that organizers write (news articles, conference highlights): rendered and sanitised in this one place.

`render_markdown(text)` parses CommonMark with tables and strikethrough (markdown-it-py), then keeps only the
HTML an article needs (nh3, the Ammonia sanitiser): paragraphs, headings, emphasis, lists, quotes, code, tables
and links to http, https and mailto addresses. Scripts and styles go with their content, event-handler and style
attributes go (the site's Content-Security-Policy would block them anyway), `javascript:` and `data:` links lose
their address, and images are dropped (the policy allows only this site's images). Raw HTML in the text goes
through the same sanitiser, so `<sup>` stays and `<script>` does not. A `#` heading becomes an `<h2>`, as the
page's own title is its only `<h1>`. Table cells carry their column's name (`data-label`), so a phone shows a table
as one card per row, each value under its column's name, as the site's other tables do.

`markdown_text(text)` is the same text without markup, for full-text search and plain-text places.
"""
from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "del", "s", "sup", "sub", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "abbr", "table", "caption", "thead", "tbody", "tfoot", "tr", "th",
    "td",
}
# td's data-label names its column, for the phone layout (a card per row, each value under its column's name).
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}, "th": {"scope"},
                      "td": {"data-label"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"
# Elements removed with everything inside them (nh3 drops other disallowed tags but keeps their text).
DROPPED_WITH_CONTENT = {"script", "style", "template", "iframe", "object", "noscript", "textarea", "select"}


def _no_first_level_headings(state) -> None:
    """The page's title is its only <h1>: a `#` heading in the text becomes an <h2>, like `##`."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"


def _inline_text(token) -> str:
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline")).strip()


def _label_table_cells(state) -> None:
    """Each body cell of a Markdown table gets `data-label`: its column's header text."""
    headers: list[str] = []
    column = 0
    in_head = False
    for index, token in enumerate(state.tokens):
        if token.type == "thead_open":
            headers, in_head = [], True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "th_open" and in_head:
            headers.append(_inline_text(state.tokens[index + 1]))
        elif token.type == "tr_open":
            column = 0
        elif token.type == "td_open":
            if column < len(headers) and headers[column]:
                token.attrSet("data-label", headers[column])
            column += 1


_parser = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])
_parser.core.ruler.push("no_first_level_headings", _no_first_level_headings)
_parser.core.ruler.push("label_table_cells", _label_table_cells)

_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|h[2-6]|li|blockquote|pre|tr|th|td|caption)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _sanitise(rendered: str) -> str:
    return nh3.clean(rendered, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel=LINK_REL, clean_content_tags=DROPPED_WITH_CONTENT, strip_comments=True)


def render_markdown(text: str | None) -> Markup:
    """The Markdown as safe HTML (a Markup, so templates insert it as is)."""
    if not text:
        return Markup("")
    return Markup(_sanitise(_parser.render(text.replace("\x00", ""))))


def markdown_text(text: str | None) -> str:
    """The Markdown's words without markup, on one line (what a reader sees, for search and plain text)."""
    if not text:
        return ""
    spaced = _BLOCK_END.sub(lambda m: f"{m.group(0)} ", str(render_markdown(text)))
    return _SPACES.sub(" ", html.unescape(_TAG.sub("", spaced))).strip()
