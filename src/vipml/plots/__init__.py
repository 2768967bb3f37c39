"""Matplotlib figures (headless Agg backend) and one way to save or embed them.

Each plotting module returns :class:`matplotlib.figure.Figure` objects; :func:`save_figure`
writes a PNG atomically and :func:`figure_to_data_uri` embeds one in a self-contained HTML page.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

from matplotlib.figure import Figure  # noqa: E402

__all__ = ["new_figure", "save_figure", "figure_to_png", "figure_to_data_uri"]


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Figure, object]:
    """A figure and one axes, not registered with pyplot (safe in threads and loops)."""
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig, fig.add_subplot()


def figure_to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG atomically; return the path."""
    from vipml.data.io import write_text

    return write_text(figure_to_png(fig), path)


def figure_to_data_uri(fig: Figure) -> str:
    """``data:image/png;base64,...`` for an ``<img src=...>`` in a self-contained HTML file."""
    return "data:image/png;base64," + base64.b64encode(figure_to_png(fig)).decode("ascii")
