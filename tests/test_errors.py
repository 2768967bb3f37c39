"""Every error vipml raises is a VipmlError, so a caller (and the CLI) catches one type."""

from __future__ import annotations

import ast
from pathlib import Path

import vipml
from vipml import errors

SOURCE = Path(vipml.__file__).parent
BUILTIN = {"ValueError", "TypeError", "RuntimeError", "KeyError", "IndexError", "Exception",
           "AssertionError", "OSError", "LookupError"}


def test_no_builtin_exception_is_raised_by_name():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", None)
                if name in BUILTIN:
                    found.append(f"{path.relative_to(SOURCE)}:{node.lineno} raises {name}")
    assert not found, "\n".join(found)


def test_every_error_class_is_a_vipml_error():
    classes = [c for c in vars(errors).values() if isinstance(c, type)
               and issubclass(c, Exception) and c.__module__ == errors.__name__]
    assert len(classes) >= 7
    assert all(issubclass(c, errors.VipmlError) for c in classes)
