"""The layers of the package run one way: core <- geometry <- façades <- the rest.

Every import statement of every module is read (function-level imports
included), resolved to a module of the package, and checked against the
layer table below; the import graph must also have no cycle.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "geomstats_gen"

#: Layer of each module (by dotted-name prefix; the longest prefix wins).
LAYERS = {
    "geomstats_gen._backend": 0,
    "geomstats_gen.exceptions": 0,
    "geomstats_gen._model_names": 0,
    "geomstats_gen._cli_parser": 0,
    "geomstats_gen.core": 1,
    "geomstats_gen.decoders": 1,
    "geomstats_gen.augmented": 1,
    "geomstats_gen.geometry": 2,
    "geomstats_gen.geodesics": 2,  # re-exports of geometry
    "geomstats_gen.curvature": 2,
    "geomstats_gen.metric": 3,
    "geomstats_gen.metric_curvature": 3,
    "geomstats_gen.metric_geodesics": 3,
    "geomstats_gen.manifold": 3,
    "geomstats_gen": 4,  # everything else: measures, learning, models, report, cli ...
}
LAYER_NAMES = {0: "base", 1: "core", 2: "geometry", 3: "façade", 4: "application"}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module):
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _imports(path, module):
    """Package modules imported by ``path`` (any depth in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "geomstats_gen" or name.startswith("geomstats_gen."):
                found.add(name)
    return found


def _graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in _imports(path, module):
            # ``from pkg import sub`` names a module when sub is one
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


GRAPH = _graph()


def test_the_table_covers_the_package():
    assert "geomstats_gen.core.chart" in GRAPH and "geomstats_gen.geometry.log" in GRAPH
    assert _layer("geomstats_gen.core.chart") == 1
    assert _layer("geomstats_gen.geometry.transport") == 2
    assert _layer("geomstats_gen.transport") == 4
    assert _layer("geomstats_gen.learning.neighbors") == 4


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    """No module imports from a layer above its own (the package's own
    ``__init__`` is exempt: importing it only selects the backend)."""
    upward = sorted(
        f"{target} ({LAYER_NAMES[_layer(target)]})"
        for target in GRAPH[module]
        if target != "geomstats_gen" and _layer(target) > _layer(module)
    )
    assert not upward, f"{module} ({LAYER_NAMES[_layer(module)]}) imports upward: {upward}"


def test_no_import_cycles():
    graph = {m: {t for t in ts if t != "geomstats_gen"} for m, ts in GRAPH.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in graph[node]:
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_function_level_imports(tmp_path):
    """The checker itself: an import inside a function is found."""
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from geomstats_gen.metric import X\n")
    assert "geomstats_gen.metric" in _imports(source, "geomstats_gen.core.mod")
