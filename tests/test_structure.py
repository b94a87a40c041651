"""Package structure: every module imports on its own, no import cycle (not even inside functions),
lower pipeline stages never import higher ones, no private name crosses a package boundary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

LAB = REPO / "lab"

#: Layers, lowest first: a module may import only from its own layer or lower ones.
LAYERS = [
    {"lab", "lab.io"},
    {"lab.pose", "lab.samples"},
    {"lab.lift"},
    {"lab.features"},
    {"lab.align"},
    {"lab.dtw"},
    {"lab.score"},
    {"lab.reps"},
    {"lab.viz"},
    {"lab.pipeline"},
    {"lab.export", "lab.report", "lab.library", "lab.batch", "lab.tuning", "lab.demo", "lab.app", "lab.app_server", "lab.live",
     "lab.cli", "lab.__main__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(LAB.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Modules of ``lab`` that ``name`` imports anywhere (top level or inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer if top != "lab"):
            return i
    return 0


def test_every_module_is_in_a_layer():
    tops = {m.split(".")[1] if m.count(".") else m for m in MODULES}
    named = {t.split(".")[1] if "." in t else t for layer in LAYERS for t in layer}
    assert tops <= named, f"modules in no layer: {sorted(tops - named)}"


def test_no_import_cycle():
    """Tarjan's strongly connected components over the module graph: each must be one module.

    A package's ``__init__`` importing its own submodules is the normal way in; a submodule
    importing its package's ``__init__`` back (rather than the sibling module) closes a cycle.
    """
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_lower_stages_never_import_higher_ones():
    bad = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets if _layer(t) > _layer(m)]
    assert not bad, "a lower stage imports a higher one: " + "; ".join(sorted(bad))


def test_no_private_name_imported_across_packages():
    bad = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        pkg = name.split(".")[1] if name.count(".") else ""
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lab"):
                other = node.module.split(".")[1] if node.module.count(".") else ""
                for a in node.names:
                    if a.name.startswith("_") and not a.name.endswith("__") and other != pkg:
                        bad.append(f"{name}: from {node.module} import {a.name}")
    assert not bad, "; ".join(bad)


def test_detector_sees_a_cycle(tmp_path):
    """The cycle check can fail: a two-module cycle made on purpose is found."""
    global GRAPH
    saved = GRAPH
    try:
        GRAPH = {**saved, "lab.io": saved["lab.io"] | {"lab.pose"}, "lab.pose": saved["lab.pose"] | {"lab.io"}}
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycle()
    finally:
        GRAPH = saved


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_alone_in_a_fresh_interpreter(module):
    if module == "lab.__main__":
        pytest.skip("runs the CLI when imported")
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
