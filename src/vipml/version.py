"""The version of vipml, in a module of its own so that any module can read it without
importing the package's ``__init__`` (which imports the model code lazily).

Examples
--------
>>> import vipml
>>> __version__ == vipml.__version__
True
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
