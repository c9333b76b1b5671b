"""Escape student HTML before formgrader or the feedback page renders it.

A memo cell, or any cell output, can hold ``<script>``: rendered in formgrader
it would run in the instructor's logged-in Jupyter session. nbconvert's
:class:`~nbconvert.preprocessors.SanitizeHTML` (bleach) escapes unsafe tags and
drops JavaScript outputs; this runs it on every cell a student could write
(everything but locked cells, which nbgrader restores from the source) as an
autograde step, so the autograded notebook that formgrader and
``generate_feedback`` read is already safe.

Bleach reads HTML, not markdown: a markdown link to ``javascript:`` in a memo
or in a ``text/markdown`` output would still render as a live link, so such a
text is shown as plain text instead (:mod:`course.grading.results.links`).
"""

from __future__ import annotations

import re
from typing import Any

from bleach import ALLOWED_TAGS
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from course.grading.results.links import as_plain_text, has_unsafe_link
from course.notebook import grading

#: pandas puts a ``<style scoped>`` block before each table: dropped, not shown as text.
STYLE = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.S | re.I)
#: Tags kept as HTML: bleach's safe inline tags, plus what pandas tables, notes and hints use.
TAGS = sorted({*ALLOWED_TAGS, "table", "thead", "tbody", "tr", "th", "td", "div", "span", "p",
               "br", "pre", "h1", "h2", "h3", "h4", "sub", "sup", "hr", "details", "summary"})


class SanitizeStudentHTML(NbGraderPreprocessor, SanitizeHTML):
    """Escape HTML and drop scripts in the cells and outputs a student controls."""

    tags = List(Unicode(), default_value=TAGS, help="HTML tags kept (others are escaped).")

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        """Sanitise one cell unless it is a locked cell restored from the source."""
        meta = grading(cell)
        if cell.cell_type != "code" and meta.get("locked") and not meta.get("solution"):
            return cell, resources
        if cell.cell_type == "markdown" and has_unsafe_link(cell.source):
            cell.source = as_plain_text(cell.source)
            return cell, resources
        return SanitizeHTML.preprocess_cell(self, cell, resources, index)

    def sanitize_code_outputs(self, outputs: list[NotebookNode]) -> list[NotebookNode]:
        """Sanitise outputs as nbconvert does, with two exceptions.

        A markdown output with an unsafe link is shown as text; an output that has an
        image keeps the image, not its HTML (a figure drawn by ``course.plots.show``
        carries both, and its ``<img>`` would be escaped into text).
        """
        for output in outputs:
            data = output.get("data", {})
            if "text/html" in data and any(k.startswith("image/") for k in data):
                del data["text/html"]
        unsafe = {index: markdown for index, markdown in enumerate(_markdown_outputs(outputs))
                  if markdown is not None and has_unsafe_link(markdown)}
        outputs = super().sanitize_code_outputs(outputs)
        for index, markdown in unsafe.items():
            outputs[index].data["text/markdown"] = as_plain_text(markdown)
        return outputs

    def sanitize_html_tags(self, html_str: str) -> str:
        """Drop style blocks, then escape what bleach does not allow."""
        return super().sanitize_html_tags(STYLE.sub("", html_str))


def _markdown_outputs(outputs: list[NotebookNode]) -> list[str | None]:
    """Return each output's ``text/markdown`` text (None when it has none)."""
    found: list[str | None] = []
    for output in outputs:
        value = output.get("data", {}).get("text/markdown")
        value = "".join(value) if isinstance(value, list) else value
        found.append(value if isinstance(value, str) else None)
    return found
