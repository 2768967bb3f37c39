"""Griffe extension for the API reference: Sphinx roles in docstrings become inline code.

The docstrings name other objects the Sphinx way (``:func:`build_features```,
``:class:`~vipml.pipeline.VipModel```), which Markdown would show as written; this turns each
into plain inline code (``build_features``, ``VipModel`` for a ``~`` target). Loaded by
mkdocs.yml (mkdocstrings' ``extensions`` option).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles as inline code in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
