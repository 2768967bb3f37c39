"""vipml: find a business's most valuable customers before anyone else does."""

from __future__ import annotations

from typing import Any

from vipml.version import __version__

__all__ = ["__version__", "load_model"]


def __getattr__(name: str) -> Any:
    """Lazy exports: ``vipml.load_model`` imports the model code only when first used."""
    if name == "load_model":
        # lazy: the model code (LightGBM, lifetimes, scikit-learn) takes about 0.6 s to import
        from vipml.bundle import load_model

        return load_model
    raise AttributeError(f"module 'vipml' has no attribute {name!r}")
