"""The ``vipml`` command line: one module per group of commands, one typer app.

Each command parses its arguments and calls one library function.
"""

from vipml.cli import btyd as _btyd  # noqa: F401  (registers commands)
from vipml.cli import data as _data  # noqa: F401
from vipml.cli import demo as _demo  # noqa: F401
from vipml.cli import lists as _lists  # noqa: F401
from vipml.cli import model as _model  # noqa: F401
from vipml.cli import registry as _registry  # noqa: F401
from vipml.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line."""
    app()
