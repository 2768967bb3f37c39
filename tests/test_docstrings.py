"""Every public function and class of the library has a numpy-style docstring.

"Public": no leading underscore, defined in a ``vipml`` module that is not private itself
(re-exports are checked where they are defined), outside ``vipml.cli`` (commands are
documented by ``--help``). The docstring needs a ``Parameters`` section when the callable
takes parameters (for a class: its ``__init__``'s, or ``Attributes`` for a dataclass-like
record), ``Returns`` (or ``Yields``) when a function returns something, and ``Examples``.
The API reference (``docs/api``) is built from these docstrings.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import vipml

pytest.importorskip("pyspark")  # vipml.spark is part of the API


def _sections(doc: str) -> set[str]:
    return set(re.findall(r"^\s*(\w[\w ]*)\n\s*-{3,}\s*$", doc, flags=re.M))


def _public_objects():
    for info in pkgutil.walk_packages(vipml.__path__, "vipml."):
        private = any(part.startswith("_") for part in info.name.split("."))
        if info.name.startswith("vipml.cli") or private:  # commands; internal modules
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{info.name}.{name}", obj


def _missing(obj) -> list[str]:
    doc = inspect.cleandoc((inspect.getdoc(obj) if inspect.isfunction(obj) else obj.__doc__) or "")
    found = _sections(doc)
    missing = []
    if inspect.isfunction(obj):
        signature = inspect.signature(obj)
        if [p for p in signature.parameters if p not in ("self", "cls")] and (
            "Parameters" not in found
        ):
            missing.append("Parameters")
        returns = signature.return_annotation
        if returns not in (None, "None", inspect.Signature.empty) and not (
            {"Returns", "Yields"} & found
        ):
            missing.append("Returns")
    else:
        try:
            params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        except (TypeError, ValueError):
            params = []
        if params and not ({"Parameters", "Attributes"} & found):
            missing.append("Parameters or Attributes")
    if "Examples" not in found:
        missing.append("Examples")
    return missing


def test_every_public_function_and_class_has_a_numpy_docstring():
    objects = dict(_public_objects())
    assert len(objects) > 200  # the walk found the library
    lacking = {name: _missing(obj) for name, obj in objects.items() if _missing(obj)}
    assert not lacking, lacking
