"""Shared test fixtures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_scores_helper() -> ModuleType:
    """``tests/_scores.py`` (tests are not a package), loaded once."""
    name = "vipml_test_scores"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "_scores.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def scores_helper() -> ModuleType:
    """Scores tables built from real data (:mod:`_scores`)."""
    return _load_scores_helper()
