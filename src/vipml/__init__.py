"""vipml: find a business's most valuable customers before anyone else does."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]


def __getattr__(name: str) -> Any:
    """Lazy exports: ``vipml.load_model`` imports the model code only when first used."""
    if name == "load_model":
        from vipml.bundle import load_model

        return load_model
    raise AttributeError(f"module 'vipml' has no attribute {name!r}")
