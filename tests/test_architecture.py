"""The house rules of DESIGN.md, checked on the code: imports run one way, no import cycles, no imports hidden
inside functions, no view importing another capability's views."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "cme"

# DESIGN.md: services and models depend down this list (a higher rank may import a lower one, never the reverse).
# audit watches rows of every capability below it (its flush listeners read them, the library's materials too);
# privacy reads every capability, the audit log included. alerts (issue 14, point 14) read the catalog and the seat
# counts (registration), beside calendar's feeds and independent of them; privacy exports and erases them.
RANK = {"mail": 0, "accounts": 1, "activities": 2, "registration": 3, "calendar": 4, "alerts": 4, "attendance": 5,
        "credit": 6, "certificates": 7, "library": 8, "reporting": 8, "audit": 9, "privacy": 10}
# calendar's builders are pure functions of plain data that any capability may call.
PURE_CALENDAR = {"cme.calendar.ics", "cme.calendar.invitations", "cme.calendar.timezones"}
# Modules that assemble the whole application: they may import anything, also inside functions.
ASSEMBLY = {"cme", "cme.cli", "cme.models", "cme.demo", "cme.reporting.cli"}
VIEW_FILES = ("views",)
# Helpers that load a model for a request or answer in HTTP terms (404/403): views may share them.
HTTP_HELPERS = ("access", "responses")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, names: set[str]) -> list[str]:
    """The cme modules an import statement loads (`from cme.x import y` loads cme.x.y when that is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("cme")]
    if node.level or not node.module or not node.module.startswith("cme"):
        return []
    found = [node.module]
    found += [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in names]
    return found


def imports(tree: ast.Module, names: set[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """(module-level cme imports outside `if TYPE_CHECKING:`, [(line, module)] of every import inside a function,
    of cme or not: an import belongs at the top of its module)."""
    top: list[str] = []
    nested: list[tuple[int, str]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_function:
                    nested.append((child.lineno, getattr(child, "module", None) or child.names[0].name))
                else:
                    top.extend(_targets(child, names))
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, False)
    return top, nested


def capability(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in RANK else None


def is_view(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return any(last == v or last.endswith(f"_{v}") for v in VIEW_FILES)


def graph() -> dict[str, list[str]]:
    trees = modules()
    names = set(trees)
    return {name: [t for t in imports(tree, names)[0] if t in names and t != name] for name, tree in trees.items()}


def test_no_import_cycles_between_modules():
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in edges.get(node, []):
            if target.startswith(node + ".") or node.startswith(target + "."):
                continue  # a package and its own submodules
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_no_imports_inside_functions_outside_the_app_factory_and_cli():
    trees = modules()
    names = set(trees)
    hidden = [f"{name}:{line} imports {target}" for name, tree in trees.items() if name not in ASSEMBLY
              for line, target in imports(tree, names)[1]]
    assert hidden == []


def test_services_and_models_import_only_capabilities_below_them():
    wrong = []
    for name, targets in graph().items():
        own = capability(name)
        if name in ASSEMBLY or is_view(name) or name.rsplit(".", 1)[-1] in HTTP_HELPERS:
            continue
        for target in targets:
            theirs = capability(target)
            if theirs is None or theirs == own or target in PURE_CALENDAR:
                continue
            if own is None or RANK[theirs] >= RANK[own]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_view_imports_another_capabilitys_views():
    wrong = [f"{name} imports {target}" for name, targets in graph().items() if is_view(name)
             for target in targets if is_view(target) and capability(target) != capability(name)]
    assert wrong == []


def test_the_checks_see_the_code():
    """Guards against a walker that silently finds nothing."""
    edges = graph()
    assert "cme.activities.service" in edges and "cme.activities.models" in edges["cme.activities.service"]
    assert capability("cme.registration.service") == "registration" and is_view("cme.activities.organize_views")
