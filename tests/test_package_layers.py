"""The package's layers, read from its imports: arrows run one way, down (see ARCHITECTURE.md).

Every ``import`` in every module of ``sda`` counts, including those inside
functions: an import moved into a function to dodge a circle is still a
circle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "sda"
MAX_LINES = 400

# What each layer may not import (besides itself), following the diagram top to bottom.
ABOVE_RUNS = {"sda.training", "sda.generation", "sda.server", "sda.ui", "sda.cli", "sda.bench"}
FORBIDDEN = {
    "sda.server": {"sda.ui", "sda.cli", "sda.bench"},
    "sda.training": {"sda.server", "sda.ui", "sda.cli", "sda.bench"},
    "sda.generation": {"sda.training", "sda.server", "sda.ui", "sda.cli", "sda.bench"},
    "sda.runs": ABOVE_RUNS,
    "sda.audio": ABOVE_RUNS | {"sda.runs", "sda.models"},
    "sda.models": ABOVE_RUNS | {"sda.runs", "sda.audio"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The sda modules (or packages) ``path`` imports, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:  # `from sda.ui import config_form` imports a module, not a name
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {m for m in found if m == "sda" or m.startswith("sda.") or m == "gradio" or m.startswith("gradio.")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE_ROOT.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, modules) for f in files}


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_module_takes_part_in_an_import_circle(graph):
    edges = {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}
    # A package imports its submodules through its __init__; a submodule importing its own
    # package's __init__ back is the circle to catch.
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def test_only_the_web_layer_imports_gradio(graph):
    offenders = sorted(m for m, targets in graph.items()
                       if any(t.split(".")[0] == "gradio" for t in targets) and not m.startswith("sda.ui"))
    assert not offenders, f"gradio imported outside sda.ui: {offenders}"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(graph, layer):
    wrong = sorted((m, t) for m, targets in graph.items() if _layer(m) == layer
                   for t in targets if _layer(t) in FORBIDDEN[layer])
    assert not wrong, f"{layer} imports layers above it: {wrong}"


def test_training_and_generation_do_not_import_each_other_both_ways(graph):
    down = {
        (m, t) for m, ts in graph.items() if _layer(m) == "sda.training" for t in ts if _layer(t) == "sda.generation"
    }
    up = {(m, t) for m, ts in graph.items() if _layer(m) == "sda.generation" for t in ts if _layer(t) == "sda.training"}
    assert not (down and up), f"training -> generation {sorted(down)} and generation -> training {sorted(up)}"


def test_the_layer_check_sees_real_imports(graph):
    # Guards the checks above against passing on an empty or misread graph.
    assert "sda.generation.generator" in graph["sda.ui.play.sounds"] or any(
        t.startswith("sda.generation") for t in graph["sda.ui.play.sounds"])
    assert "gradio" in {t.split(".")[0] for t in graph["sda.ui.app"]}
    assert any(t.startswith("sda.generation") for t in graph["sda.training.preview"])


def test_no_source_file_is_over_400_lines():
    long_files = {str(p.relative_to(PACKAGE_ROOT.parent)): n for p in PACKAGE_ROOT.rglob("*.py")
                  if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert not long_files, f"files over {MAX_LINES} lines (split them by idea): {long_files}"
