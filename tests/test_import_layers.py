"""The import structure: no file-level cycles, no import from a lower layer into a higher one,
and the assistant and its MCP servers kept apart.

Imports are read statically with ``ast`` from every module of ``assistant/`` and
``mcp_servers/``: imports inside functions and under ``TYPE_CHECKING`` count too (they are still
dependencies, only deferred), relative imports are resolved, and ``from pkg import name`` where
``name`` is a submodule is an import of that submodule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "mcp_servers")

# Lowest first; a module may import its own layer and the layers below it. Every module of
# assistant/ must fall in one (the longest matching prefix wins; "assistant" is the package's
# __init__ alone, so a new top-level module must be placed here explicitly).
LAYERS: tuple[tuple[str, ...], ...] = (
    # The package root holds only the version; text_safety is text hygiene both the CLI and
    # the TUI use, so it sits beside errors.
    ("assistant", "assistant.errors", "assistant.text_safety"),
    ("assistant.settings",),
    ("assistant.core",),
    ("assistant.rag",),
    ("assistant.tools",),
    ("assistant.chat",),
    ("assistant.training",),
    ("assistant.tui",),
    ("assistant.cli",),
    ("assistant.__main__",),
)

# The calculator's table of operator, function and constant names: the router's math intent
# must recognise exactly what the server evaluates, so both read this one pure module (it
# imports nothing of the server). Nothing else of mcp_servers may be imported by the assistant,
# whose servers must stay usable by any MCP client on their own.
SHARED_WITH_SERVERS = frozenset({"mcp_servers.calculator.vocabulary"})

# The course search server is, by design, the assistant's document index offered to other MCP
# clients: it reads the index with the assistant's own retrieval code (the same store, fusion
# and source lines as the app). So it alone may import the retrieval layer and what that layer
# stands on, nothing above it (tools, chat, tui, cli), and the assistant never imports it.
INDEX_SERVER = "mcp_servers.course_search"
INDEX_SERVER_MAY_IMPORT = ("assistant.errors", "assistant.settings", "assistant.rag")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }


def _resolve_base(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (``from ..x import y`` → ``pkg.x``)."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    package = parts if is_package else parts[:-1]
    if node.level - 1 > len(package):
        raise ValueError(f"{importer}: relative import beyond the top-level package")
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """``name`` or its longest prefix that is one of our modules (``import a.b`` of a name
    inside ``a``), or None for a third-party import."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(importer: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The modules of ours that ``importer`` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_base(importer, is_package, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if submodule in modules else base)
        for target in targets:
            known = _known(target, modules)
            if known is not None and known != importer:
                found.add(known)
    return found


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    modules = find_modules(root, packages)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    return [component for component in strongly_connected(graph) if len(component) > 1]


def layer_of(module: str) -> int | None:
    """The rank of the longest prefix in LAYERS that ``module`` falls under, or None."""
    matches = [
        (len(prefix), rank)
        for rank, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if _in(prefix, module) and (prefix != "assistant" or module == prefix)
    ]
    return max(matches)[1] if matches else None


def _in(package: str, module: str) -> bool:
    return module == package or module.startswith(package + ".")


def index_server_may_import(target: str) -> bool:
    return any(_in(allowed, target) for allowed in INDEX_SERVER_MAY_IMPORT)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGES)


def test_the_walker_finds_real_imports(graph: dict[str, set[str]]) -> None:
    # A broken walker finding no edges would pass every rule below vacuously.
    assert len(graph) > 100
    assert any(_in("assistant.core", m) for m in graph["assistant.chat.session"])
    assert "assistant.cli" in graph["assistant.__main__"]  # `from assistant.cli import main`
    assert "mcp_servers.calculator.evaluator" in graph["mcp_servers.calculator.server"]
    assert sum(map(len, graph.values())) > 300


def test_the_walker_reads_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__", "a", "b", "c", "d", "sub/__init__", "sub/e", "sub/f"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "from . import b\n"  # a submodule named in a from-import
        "from .sub.e import thing\n"  # a name inside a module: the module
        "if TYPE_CHECKING:\n    from pkg.c import C\n"
        "def late():\n    import pkg.d\n"
    )
    (pkg / "sub" / "f.py").write_text("from .. import a\nfrom ..sub import e\n")
    (pkg / "sub" / "__init__.py").write_text("from .e import x\nfrom . import missing\n")
    found = import_graph(tmp_path, ["pkg"])
    assert found["pkg.a"] == {"pkg.b", "pkg.sub.e", "pkg.c", "pkg.d"}
    assert found["pkg.sub.f"] == {"pkg.a", "pkg.sub.e"}
    # `from . import missing` names no module: it imports the package itself (not an edge).
    assert found["pkg.sub"] == {"pkg.sub.e"}


def test_the_cycle_detector_on_a_small_graph() -> None:
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},  # a → b → c → a
        "d": {"e"},
        "e": {"d"},  # d ↔ e, reached from the first cycle but not part of it
        "f": {"a", "f"},  # a self-import is not a cycle between files
        "g": set(),
    }
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []


def test_layers_rank_by_the_longest_prefix() -> None:
    assert layer_of("assistant") == layer_of("assistant.errors") == 0
    assert layer_of("assistant.tools.router") == layer_of("assistant.tools") == 4
    assert layer_of("assistant.chat.session") == 5
    assert layer_of("assistant.toolsmith") is None  # a prefix is a whole dotted name
    assert layer_of("assistant.new_module") is None
    assert layer_of("mcp_servers.calculator") is None


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_every_assistant_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    missing = sorted(m for m in graph if _in("assistant", m) and layer_of(m) is None)
    assert not missing, f"modules outside every layer (add them to LAYERS): {missing}"


def test_no_module_imports_a_higher_layer(graph: dict[str, set[str]]) -> None:
    upward = []
    for importer, targets in sorted(graph.items()):
        low = layer_of(importer)
        for target in sorted(targets):
            high = layer_of(target)
            if low is not None and high is not None and high > low:
                upward.append(f"{importer} -> {target}")
    assert not upward, "upward imports: " + ", ".join(upward)


def test_the_assistant_and_its_servers_stay_apart(graph: dict[str, set[str]]) -> None:
    crossing = []
    for importer, targets in sorted(graph.items()):
        for target in sorted(targets):
            into_servers = _in("assistant", importer) and _in("mcp_servers", target)
            into_assistant = _in("mcp_servers", importer) and _in("assistant", target)
            if into_assistant and _in(INDEX_SERVER, importer):
                into_assistant = not index_server_may_import(target)
            if (into_servers and target not in SHARED_WITH_SERVERS) or into_assistant:
                crossing.append(f"{importer} -> {target}")
    assert not crossing, "imports between assistant and mcp_servers: " + ", ".join(crossing)


def test_the_index_server_reads_the_index_through_retrieval_only(
    graph: dict[str, set[str]],
) -> None:
    server_modules = [m for m in graph if _in(INDEX_SERVER, m)]
    assert server_modules, f"{INDEX_SERVER} does not exist"
    imported = {t for m in server_modules for t in graph[m] if _in("assistant", t)}
    assert any(_in("assistant.rag", t) for t in imported)  # the allowance is used, not vacuous
    assert all(map(index_server_may_import, imported))
    # By whole dotted names, and nothing above retrieval.
    assert index_server_may_import("assistant.rag.retriever")
    for higher in ("assistant.ragged", "assistant.tools.router", "assistant.chat", "assistant"):
        assert not index_server_may_import(higher), higher


def test_the_shared_vocabulary_imports_nothing_of_ours(graph: dict[str, set[str]]) -> None:
    for module in sorted(SHARED_WITH_SERVERS):
        assert module in graph, f"{module} is allowed but does not exist"
        # Importing it runs the packages above it too: they must not pull in a server.
        parts = module.split(".")
        for name in [".".join(parts[:n]) for n in range(1, len(parts) + 1)]:
            assert not graph[name], f"{name} must stay self-contained: {graph[name]}"
