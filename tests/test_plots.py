"""Figures with a text alternative (issue 28, item 5): ``course.plots.show``."""

from __future__ import annotations

import base64

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course.grading.results.sanitize import SanitizeStudentHTML  # noqa: E402
from course.plots import figure_bundle  # noqa: E402

ALT = 'A straight line rising from "zero" to <one>.'


def test_the_figure_is_an_img_with_its_text_alternative_and_keeps_its_png():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    bundle = figure_bundle(fig, ALT)
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG")
    assert bundle["text/html"] == (f'<img src="data:image/png;base64,{bundle["image/png"]}" '
                                   'alt="A straight line rising from &quot;zero&quot; to '
                                   '&lt;one&gt;."/>')
    assert bundle["text/plain"] == f"Figure: {ALT}"
    plt.close(fig)


@pytest.mark.parametrize("alt", [None, "", "a line", 3])
def test_a_missing_or_empty_text_alternative_is_a_clear_error(alt):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="text alternative should be a sentence"):
        figure_bundle(fig, alt)
    plt.close(fig)


def test_grading_keeps_the_figure_as_an_image_not_as_escaped_html():
    fig, _ = plt.subplots()
    bundle = figure_bundle(fig, ALT)
    plt.close(fig)
    cell = nbformat.v4.new_code_cell("plots.show(fig, ...)", outputs=[
        nbformat.v4.new_output("display_data", data=dict(bundle)),
        nbformat.v4.new_output("display_data", data={"text/html": "<script>x()</script>"})])
    cell, _ = SanitizeStudentHTML().preprocess_cell(cell, {}, 0)
    figure, other = cell.outputs
    assert set(figure.data) == {"image/png", "text/plain"}
    assert "<script>" not in other.data["text/html"]
