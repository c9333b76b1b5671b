"""Only safe link addresses in the HTML the course writes.

A markdown link is not HTML, so bleach (:mod:`course.grading.results.sanitize`) lets
``[read more](javascript:alert(1))`` through, and nbconvert's markdown renderer,
the one formgrader and the feedback pages use, turns it into a live
``<a href="javascript:...">``; entities (``&#106;avascript:``), mixed case,
tabs and reference-style links get there too. A URL is safe when it has no
scheme (relative, ``#fragment``) or one of :data:`SAFE_SCHEMES`, judged the way
a browser reads it (entities decoded, tabs and newlines removed, outer spaces
and control characters stripped).

:func:`inert_markdown` renders a student's markdown with nbconvert's own
renderer and looks at every address it would produce; a text that holds one
unsafe address (or names a script scheme anywhere, as a second, textual net) is
shown as plain text instead, in a code block nothing inside can close.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

#: Schemes a link or an image may use; anything else (javascript:, data:, vbscript:,
#: file:, ...) is unsafe. No scheme at all (a relative address, a fragment) is safe.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
#: Attributes whose value a browser follows or loads as an address.
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster",
                            "background", "cite", "data", "srcset", "longdesc", "lowsrc",
                            "dynsrc", "ping", "manifest", "codebase", "archive", "icon"})
#: A picture embedded in an ``<img src>`` (as the item report and nbconvert embed plots);
#: never SVG, which can hold a script.
PICTURE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.I)
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.I)
#: Script-capable schemes named anywhere in a text (after decoding): the textual net.
SCRIPT_SCHEME = re.compile(r"(?<![a-z0-9+.\-])(?:(?:javascript|vbscript|livescript)\s*:"
                           r"|data\s*:\s*(?:[a-z]+/[a-z0-9.+\-]+|,))", re.I)
STRIPPED = "".join(chr(c) for c in range(0x21)) + "\x7f"
#: Shown above a markdown text that held an unsafe address.
NOTE = ("*Shown as plain text: this text held a link whose address is not http, https, "
        "mailto or relative.*")


def scheme_of(url: str) -> str | None:
    """Return the lower-case scheme a browser would read in ``url``, or None (relative)."""
    text = html.unescape(url).strip(STRIPPED)
    text = re.sub(r"[\t\n\r]", "", text)
    found = SCHEME.match(text)
    return found.group(1).lower() if found else None


def is_safe_url(url: str) -> bool:
    """Return True if ``url`` is relative, a fragment, or http, https or mailto."""
    scheme = scheme_of(url)
    return scheme is None or scheme in SAFE_SCHEMES


class _Addresses(HTMLParser):
    """Collect every value of an address attribute in an HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if tag == "img" and name.lower() == "src" and PICTURE.fullmatch(value or ""):
                continue
            if name.lower() in URL_ATTRIBUTES and value is not None:
                parts = value.split(",") if name.lower() == "srcset" else [value]
                self.found.extend(part.strip().split(" ")[0] for part in parts)

    handle_startendtag = handle_starttag


def unsafe_urls(html_text: str) -> list[str]:
    """Return the addresses in ``html_text`` (links, images, forms, ...) that are not safe."""
    parser = _Addresses()
    parser.feed(html_text)
    parser.close()
    return [url for url in parser.found if not is_safe_url(url)]


def has_unsafe_link(markdown: str) -> bool:
    """Return True if ``markdown``, rendered as the course renders it, holds an unsafe address."""
    from nbconvert.filters.markdown import markdown2html

    if SCRIPT_SCHEME.search(re.sub(r"[\t\n\r]", "", html.unescape(markdown))):
        return True
    return bool(unsafe_urls(markdown2html(markdown)))


def as_plain_text(markdown: str) -> str:
    """Return ``markdown`` inside a fenced code block that no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", markdown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{NOTE}\n\n{fence}text\n{markdown}\n{fence}\n"


def inert_markdown(markdown: str) -> str:
    """Return ``markdown`` unchanged if every address in it is safe, else as plain text."""
    return as_plain_text(markdown) if has_unsafe_link(markdown) else markdown
