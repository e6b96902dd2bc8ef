"""The architecture the imports must keep: a service's code imports only itself and `planeco_shared`
(services talk over HTTP, through the typed clients), `planeco_shared` imports no service, and the modules
of each package import one another without cycles at import time. A deliberate late import inside a
function (a model registry, the runtime built on the database module) is not an import-time edge."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("levers", "diagnostic", "actions", "gateway")
PACKAGES = {f"planeco_{name}": ROOT / "services" / name / "src" for name in SERVICES} | {
    "planeco_shared": ROOT / "shared" / "src"
}


def modules(package: str) -> dict[str, Path]:
    src = PACKAGES[package]
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        name = ".".join(path.relative_to(src).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, *, top_level_only: bool) -> Iterator[tuple[str, str | None]]:
    """(module, imported name or None) of each import; with `top_level_only`, those run at import time
    (the module's own statements and the bodies of its top-level `if`/`try`, not functions' bodies)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.stmt] = list(tree.body)
    if not top_level_only:
        nodes = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from ((node.module, alias.name) for alias in node.names)
        elif top_level_only and isinstance(node, ast.If | ast.Try):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue  # for the type checker only
            nodes.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
            nodes.extend(stmt for handler in getattr(node, "handlers", []) for stmt in handler.body)


def import_graph(package: str) -> dict[str, set[str]]:
    known = modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for module, imported in imports(path, top_level_only=True):
            submodule = f"{module}.{imported}"
            targets.add(submodule if submodule in known else module)
        graph[name] = {target for target in targets if target in known and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_modules_import_one_another_without_cycles(package: str) -> None:
    assert cycles(import_graph(package)) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_package_imports_no_other_service(package: str) -> None:
    allowed = {package, "planeco_shared"}
    foreign = sorted(
        f"{name} imports {module}"
        for name, path in modules(package).items()
        for module, _ in imports(path, top_level_only=False)
        if module.split(".")[0] in PACKAGES and module.split(".")[0] not in allowed
    )
    assert foreign == []
