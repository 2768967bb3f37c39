"""Matplotlib figures and one way to save or embed them.

Each plotting module returns :class:`matplotlib.figure.Figure` objects; :func:`save_figure`
writes a PNG atomically and :func:`figure_to_data_uri` embeds one in a self-contained HTML page.
The figures are made without pyplot, so no backend is chosen here: they render headless (PNG
through Agg) and, in a notebook with ``%matplotlib inline``, inline.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from matplotlib.figure import Figure

from vipml.data.io import write_text

__all__ = ["new_figure", "save_figure", "figure_to_png", "figure_to_data_uri"]


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Figure, object]:
    """A figure and one axes, not registered with pyplot (safe in threads and loops).

    Parameters
    ----------
    width, height
        Size in inches.

    Returns
    -------
    tuple
        ``(figure, axes)``.

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> len(fig.axes)
    1
    """
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig, fig.add_subplot()


def figure_to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes.

    Parameters
    ----------
    fig
        The figure.

    Returns
    -------
    bytes
        The PNG file's content.

    Examples
    --------
    >>> figure_to_png(new_figure(1, 1)[0])[:4]
    b'\x89PNG'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG atomically; return the path.

    Parameters
    ----------
    fig
        The figure.
    path
        Where to write it.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_figure(new_figure(1, 1)[0], pathlib.Path(tmp) / "f.png").suffix
    '.png'
    """
    return write_text(figure_to_png(fig), path)


def figure_to_data_uri(fig: Figure) -> str:
    """``data:image/png;base64,...`` for an ``<img src=...>`` in a self-contained HTML file.

    Parameters
    ----------
    fig
        The figure.

    Returns
    -------
    str
        The data URI.

    Examples
    --------
    >>> figure_to_data_uri(new_figure(1, 1)[0])[:22]
    'data:image/png;base64,'
    """
    return "data:image/png;base64," + base64.b64encode(figure_to_png(fig)).decode("ascii")
