"""The shape of the package: layers imported only downwards, no cycles, no private names
across modules, no module over 700 lines, one scoring sequence.

The import graph is read from the source (``ast``), so a test run needs no import of the
optional dependencies.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 700

#: The layers, foundation first: a module may import from its own layer and those before it.
LAYERS = [
    ["vipml.version", "vipml.errors", "vipml.units", "vipml.tempfiles", "vipml.contract",
     "vipml.config"],
    ["vipml.data"],
    ["vipml.features", "vipml.labels", "vipml.model_inputs"],
    ["vipml.modeling"],
    ["vipml.model_columns", "vipml.bundle", "vipml.segments", "vipml.wording"],
    ["vipml.btyd_report", "vipml.plots"],
    ["vipml.pipeline"],
    ["vipml.batch", "vipml.tracking", "vipml.report"],
    ["vipml.spark"],
    ["vipml.jobs"],
    ["vipml.cli", "vipml.__main__"],
]

#: Imports inside functions that are deliberately lazy: optional or slow dependencies.
LAZY_ALLOWED = {"vipml.tracking", "vipml.spark", "vipml.bundle", "vipml.errors"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "vipml").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else ""


def _imports() -> list[tuple[str, str, list[str], bool]]:
    """(importer, imported module, imported names, at the top of the module?)."""
    found = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            top = getattr(node, "col_offset", 1) == 0
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vipml"):
                assert node.module is not None
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    target = _resolve(sub if sub in MODULES else node.module)
                    found.append((name, target, [alias.name], top))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("vipml"):
                        found.append((name, _resolve(alias.name), [], top))
    return [f for f in found if f[1] and f[1] != f[0]]


def _layer(module: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in layer):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_is_in_a_layer_and_imports_only_downwards():
    upward = [
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, b, _, _ in _imports()
        if a != "vipml" and b != "vipml" and _layer(b) > _layer(a)
    ]
    assert not upward, upward


def test_no_import_cycle():
    graph = defaultdict(set)
    for a, b, _, top in _imports():
        if top:
            graph[a].add(b)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [])
    assert not cycles, cycles


def test_imports_inside_functions_are_only_the_deliberately_lazy_ones():
    lazy = sorted(
        f"{a} imports {b} inside a function"
        for a, b, _, top in _imports()
        if not top and not any(b == p or b.startswith(p + ".") for p in LAZY_ALLOWED)
    )
    assert not lazy, lazy


def test_no_module_imports_another_modules_private_name():
    private = [
        f"{a} imports {b}.{n}"
        for a, b, names, _ in _imports()
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not private, private


def test_no_module_over_700_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert max(sizes.values()) <= MAX_LINES, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_the_scoring_sequence_is_written_once():
    """``segment_thresholds`` is called by the scoring service alone (and by
    ``assign_segments`` in its own package, for a table segmented whole)."""
    callers = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = getattr(func, "id", None) or getattr(func, "attr", None)
                if called == "segment_thresholds":
                    callers.add(name)
    outside = {c for c in callers if not c.startswith("vipml.segments")}
    assert outside == {"vipml.pipeline.scoring"}, callers
