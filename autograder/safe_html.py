"""Learners' HTML, made inert before an instructor's browser or a learner's shows it.

Formgrader renders a submission with nbconvert's ``HTMLExporter`` on the instructor's own
Jupyter server, so a script in a learner's notebook runs there with the instructor's rights:
it can read the ``_xsrf`` cookie and rewrite the gradebook through Formgrader's API. The
markdown of a written answer may hold raw HTML (``<img onerror=...>``), and a code cell's
outputs may hold ``text/html`` or ``application/javascript``. The feedback pages come from
the same exporter.

nbconvert's ``HTMLExporter.sanitize_html`` is not enough on its own: nbgrader's Formgrader and
feedback templates render markdown cells (every written answer) with ``markdown2html`` and no
``clean_html`` whatever that setting says, and nbconvert's ``clean_html`` escapes ``<p>``,
headings, ``<img>`` and ``<th>``, so every answer would show its markup as text.
``nbgrader_config.py`` therefore turns ``sanitize_html`` on (outputs: ``text/html`` and
``text/markdown`` go through ``clean_html``; ``application/javascript`` and widgets are left
out) and replaces two of the exporter's filters with the ones here:

- :func:`clean_html` keeps what markdown, nbconvert's code highlighting and ordinary HTML
  outputs (tables) are made of, and escapes everything else, so that a grader sees the markup
  a learner wrote instead of running it: no scripts, no event handlers, no ``javascript:``
  links, no forms or frames; a ``<style>`` element is left out with its rules (they would
  restyle the grader's page, and escaped they show a pandas table's CSS as text);
- :class:`SafeMarkdown` is nbconvert's ``markdown2html`` followed by :func:`clean_html`.
"""

from __future__ import annotations

import re

import bleach
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer
from jinja2 import pass_context
from traitlets.config import LoggingConfigurable

# What nbconvert's markdown renderer (mistune), its code highlighting (Pygments) and common
# HTML outputs produce. No <input>, <form>, <button>, <iframe>, <object>, <style>, <script>.
TAGS = frozenset(
    {
        *bleach.ALLOWED_TAGS,
        *("p", "br", "hr", "div", "span", "pre", "code", "kbd", "samp", "var", "del", "s", "u"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup", "small", "mark", "q", "cite"),
        *("dl", "dt", "dd", "details", "summary", "figure", "figcaption", "img"),
        *("table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
# No ``id``: Formgrader's scripts find each grade's inputs by ``#<grade id>``, and an element
# of a learner's with that id would take their place. No ``on*`` handlers, whatever the tag.
COMMON_ATTRIBUTES = ("class", "title", "style", "lang", "dir")
ATTRIBUTES = {
    "a": ["href", "title"],
    "img": ["src", "alt", "title", "width", "height"],
    "ol": ["start", "type"],
    "th": ["colspan", "rowspan", "align", "scope"],
    "td": ["colspan", "rowspan", "align"],
    "col": ["span"],
    "colgroup": ["span"],
    "table": ["border"],
    "abbr": ["title"],
    "acronym": ["title"],
}
# ``data:`` URLs carry the images a notebook keeps as attachments (nbconvert inlines them) and
# plots; an <img> never runs a script, even an SVG one. Only <img src> may use them: a link to
# ``data:text/html`` would open a page of the learner's making.
PROTOCOLS = frozenset({*bleach.ALLOWED_PROTOCOLS, "data"})


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in COMMON_ATTRIBUTES or name in ATTRIBUTES.get(tag, ()):
        return not value.strip().lower().startswith("data:") or (tag, name) == ("img", "src")
    return False


_CLEANER = bleach.Cleaner(
    tags=TAGS,
    attributes=_allowed_attribute,
    protocols=PROTOCOLS,
    css_sanitizer=CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES),
    strip=False,  # escape, not drop: the grader sees what the learner wrote
    strip_comments=True,
)


# Only what is left out: whatever this misses (an unclosed <style>) the cleaner escapes.
STYLE_SHEETS = re.compile(r"<style\b.*?</style\s*>", re.IGNORECASE | re.DOTALL)


def clean_html(html: str | bytes) -> str:
    """``html`` with only the tags, attributes and URLs above, and no style sheets; the rest
    shown as text."""
    text = html.decode() if isinstance(html, bytes) else str(html)
    return _CLEANER.clean(STYLE_SHEETS.sub("", text))


class SafeMarkdown(LoggingConfigurable):
    """The exporter's own ``markdown2html`` (its options, the cell's attachments), then
    :func:`clean_html`. nbconvert registers a configurable filter class as an instance whose
    parent is the exporter."""

    # Jinja passes the template's context to a filter that bears pass_context's mark; the
    # exporter's markdown2html needs it (the cell's attachments, the notebook's folder).
    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg

    def __call__(self, context, source: str) -> str:
        """The cell's markdown as HTML, cleaned."""
        return clean_html(self.parent.markdown2html(context, source))
