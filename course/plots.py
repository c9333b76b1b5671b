"""Figures with a text alternative: ``plots.show(fig, alt)`` instead of ``plt.show()``.

JupyterLab 4.6 draws an ``image/png`` output as an ``<img>`` without ``alt`` (its image
renderer reads only width and height from the output's metadata; SVG too), so a screen
reader announces "image" and nothing more. The figure is therefore also given as
``text/html``, ``<img src="data:image/png;base64,..." alt="...">``, which JupyterLab and
nbconvert prefer to the PNG and which the browser's accessibility tree names. The PNG
stays in the same output for every other front end. (Markdown would do the same, but
JupyterLab's sanitiser strips ``data:`` sources from Markdown; HTML that the learner's
own kernel produced is trusted and shown as it is. Grading's sanitiser keeps the PNG of
such an output and drops its HTML.)

The figure is drawn as the inline backend draws it (PNG, tight bounding box) and closed,
so it is shown once.
"""

from __future__ import annotations

import base64
import html
import io

MIN_WORDS = 5


def text_alternative(alt: object) -> str:
    """Return ``alt`` as one line of text, or raise a clear error."""
    if not isinstance(alt, str) or len(alt.split()) < MIN_WORDS:
        raise ValueError(f"a figure's text alternative should be a sentence of at least "
                         f"{MIN_WORDS} words saying what the figure shows; got {alt!r}")
    return " ".join(alt.split())


def png_base64(fig) -> str:
    """Return ``fig`` drawn as the inline backend draws it, PNG in base64."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_bundle(fig, alt: str) -> dict[str, str]:
    """Return the output's data: HTML with the text alternative, the PNG, plain text."""
    text = text_alternative(alt)
    png = png_base64(fig)
    tag = f'<img src="data:image/png;base64,{png}" alt="{html.escape(text, quote=True)}"/>'
    return {"text/html": tag, "image/png": png, "text/plain": f"Figure: {text}"}


def show(fig, alt: str) -> None:
    """Show ``fig`` with ``alt``, a sentence saying what it shows, as its text alternative."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    bundle = figure_bundle(fig, alt)
    plt.close(fig)
    display(bundle, raw=True)
