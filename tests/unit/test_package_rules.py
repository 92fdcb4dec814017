"""House rules that hold for every module of the package, checked by reading its source.

- Dependencies are used through their public interfaces only, so any release within a declared range
  works: no private module or name, no private attribute of their objects, no class swap, no override of
  a private hook.
- Every distribution the package imports is declared in `pyproject.toml`.
- Imports point one way (`cli`/`commands` -> `server` -> `chutes`; `shared` below both; `sim` stands
  apart) and never in a circle.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chutes_mcp"
OWN = "chutes_mcp"
# Documented public API despite the underscore: namedtuple's methods and `os._exit`.
PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make", "_exit"}


@dataclass(frozen=True)
class Source:
    module: str
    path: Path
    tree: ast.Module

    def where(self, node: ast.AST) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{getattr(node, 'lineno', '?')}"


def sources() -> list[Source]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append(Source(module, path, ast.parse(path.read_text("utf-8"), str(path))))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(source: Source, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = source.module.split(".")
    if source.path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_uses(source: Source) -> Iterator[str]:
    """Each use of a dependency's private name in `source`, as 'file:line: what'."""
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != OWN and any(map(_private, alias.name.split("."))):
                    yield f"{source.where(node)}: imports the private module {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(source, node)
            if module.split(".")[0] == OWN:
                continue
            if any(map(_private, module.split("."))):
                yield f"{source.where(node)}: imports from the private module {module}"
            for alias in node.names:
                if _private(alias.name):
                    yield f"{source.where(node)}: imports the private name {module}.{alias.name}"
        elif isinstance(node, ast.Attribute):
            if (
                _private(node.attr)
                and node.attr not in PUBLIC_UNDERSCORED
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                yield f"{source.where(node)}: reads the private attribute .{node.attr} of another object"
            if node.attr == "__class__" and isinstance(node.ctx, ast.Store):
                yield f"{source.where(node)}: assigns __class__"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
        ):
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _private(name.value):
                yield f"{source.where(node)}: {node.func.id}() of the private attribute {name.value}"
    yield from _private_hooks(source)


def _foreign_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if base is not object and not base.__module__.startswith(OWN)]


def _private_hooks(source: Source) -> Iterator[str]:
    """Private methods of a dependency's class overridden, or its private state read, by a subclass."""
    module = importlib.import_module(source.module)
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(module, node.name, None)
        if not inspect.isclass(cls) or cls.__module__ != source.module:
            continue
        foreign = _foreign_bases(cls)
        if not foreign:
            continue
        own = {
            inner.attr
            for inner in ast.walk(node)
            if isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Store)
            if isinstance(inner.value, ast.Name) and inner.value.id == "self"
        } | set(vars(cls))
        for inner in ast.walk(node):
            if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and _private(inner.name):
                hooked = [base.__qualname__ for base in foreign if inner.name in vars(base)]
                if hooked:
                    yield f"{source.where(inner)}: overrides the private method {inner.name} of {hooked[0]}"
            if (
                isinstance(inner, ast.Attribute)
                and isinstance(inner.value, ast.Name)
                and inner.value.id in ("self", "cls")
                and _private(inner.attr)
                and inner.attr not in own
            ):
                yield f"{source.where(inner)}: reads {inner.attr}, private state of a base class"


def test_dependencies_are_used_through_their_public_interfaces_only() -> None:
    uses = [use for source in sources() for use in private_uses(source)]
    assert uses == [], "private names of dependencies:\n" + "\n".join(uses)


def test_the_check_finds_each_kind_of_private_use(tmp_path: Path) -> None:
    text = """
import httpx2._transports.default
from httpcore2._async import connection
from mcp.server import _otel
from anyio import _core

class Pool(object):
    pass

def f(server, pool):
    server._lowlevel_server.add_request_handler()
    pool.__class__ = Pool
    getattr(pool, "_pool")
    parts._replace(query="")
"""
    path = PACKAGE / "server" / "app.py"  # a real module's name, for the line references
    source = Source("chutes_mcp.server.app", path, ast.parse(text))
    found = {use.split(": ", 1)[1] for use in private_uses(source)}
    assert found == {
        "imports the private module httpx2._transports.default",
        "imports from the private module httpcore2._async",
        "imports the private name mcp.server._otel",
        "imports the private name anyio._core",
        "reads the private attribute ._lowlevel_server of another object",
        "assigns __class__",
        "getattr() of the private attribute _pool",
    }


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _nested(node: ast.stmt) -> list[ast.stmt]:
    """The statements that run at import time when `node` does (not those only for type checking)."""
    if isinstance(node, ast.If):
        return [] if "TYPE_CHECKING" in ast.unparse(node.test) else [*node.body, *node.orelse]
    if isinstance(node, ast.Try):
        handlers = [statement for handler in node.handlers for statement in handler.body]
        return [*node.body, *handlers, *node.orelse, *node.finalbody]
    if isinstance(node, ast.With):
        return node.body
    return []


def test_the_check_finds_private_hooks_of_a_dependency_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """
import httpx2

class Client(httpx2.AsyncClient):
    def _init_transport(self, *args, **kwargs):
        return self._mounts

    def _own_helper(self):
        self._seen = 1
        return self._seen
"""
    (tmp_path / "probe_hooks.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    source = Source("probe_hooks", tmp_path / "probe_hooks.py", ast.parse(text))
    found = {use.split(": ", 1)[1] for use in private_uses(source)}
    assert found == {
        "overrides the private method _init_transport of AsyncClient",
        "reads _mounts, private state of a base class",
    }


def _module_imports(source: Source) -> Iterator[str]:
    """Modules imported when `source` is imported: module-level statements, not those only for type
    checking or inside functions."""
    pending = list(source.tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(source, node)
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                yield candidate if _is_module(candidate) else module
        pending += _nested(node)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source in sources():
        graph[source.module] = {
            name for name in _module_imports(source) if name.split(".")[0] == OWN and name != source.module
        }
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


# Which of our layers each layer may import, at any depth of the module (function bodies included).
FORBIDDEN = {
    "chutes_mcp.chutes": (
        "mcp",
        "mcp_types",
        "chutes_mcp.server",
        "chutes_mcp.commands",
        "chutes_mcp.cli",
        "chutes_mcp.sim",
    ),
    "chutes_mcp.sim": (
        "chutes_mcp.chutes",
        "chutes_mcp.server",
        "chutes_mcp.shared",
        "chutes_mcp.commands",
        "chutes_mcp.cli",
    ),
    # The replicas' shared state: a leaf under both the client and the server, like `config` and `log`.
    "chutes_mcp.shared": (
        "mcp",
        "mcp_types",
        "chutes_mcp.chutes",
        "chutes_mcp.server",
        "chutes_mcp.commands",
        "chutes_mcp.cli",
        "chutes_mcp.sim",
    ),
    "chutes_mcp.server": ("chutes_mcp.commands", "chutes_mcp.cli", "chutes_mcp.sim"),
}


def _all_imports(source: Source) -> Iterator[tuple[str, ast.AST]]:
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            yield _absolute(source, node), node


def test_layers_import_one_way() -> None:
    wrong = [
        f"{source.where(node)}: {source.module} imports {name}"
        for source in sources()
        for layer, forbidden in FORBIDDEN.items()
        if source.module == layer or source.module.startswith(layer + ".")
        for name, node in _all_imports(source)
        if any(name == banned or name.startswith(banned + ".") for banned in forbidden)
    ]
    assert wrong == [], "\n".join(wrong)


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_imported_distribution_is_declared_with_a_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {_requirement_name(requirement): requirement for requirement in project["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    imported = {
        name.split(".")[0]
        for source in sources()
        for name, _ in _all_imports(source)
        if name and name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != OWN
    }
    missing = sorted(
        f"{top} (from {', '.join(distributions.get(top, ['?']))})"
        for top in imported
        if not any(_requirement_name(d) in declared for d in distributions.get(top, [top]))
    )
    assert missing == [], f"imported but not declared in pyproject.toml: {missing}"
    unbounded = [
        requirement for requirement in declared.values() if "<" not in requirement or ">=" not in requirement
    ]
    assert unbounded == [], f"declare a tested floor and the next major as the cap: {unbounded}"
