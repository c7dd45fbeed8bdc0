"""The suite's own layout: shared fixtures live in the conftests, shared plain helpers in tests/helpers.py, and no
test module (or conftest) imports a test module or a conftest."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ALLOWED = "tests.helpers"


def imported_test_modules(source: str, package: str) -> list[str]:
    """The modules under tests/ that code in `package` imports (absolute or relative), tests.helpers apart."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(parts + ([module] if module else []))
            # `from tests import test_x` and `from . import conftest` import modules by their names
            modules = [f"{module}.{alias.name}" for alias in node.names] if module in ("tests", package) else [module]
        else:
            continue
        found |= {m for m in modules if m.split(".")[0] == "tests" and not m.startswith(ALLOWED)}
    return sorted(found)


def test_no_test_module_imports_a_test_module_or_a_conftest():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        package = ".".join(path.relative_to(TESTS.parent).parts[:-1])
        if names := imported_test_modules(path.read_text(), package):
            offenders[str(path.relative_to(TESTS.parent))] = names
    assert offenders == {}


def test_the_check_sees_every_way_of_importing_a_test_module():
    source = ("from tests.test_calendar import ical_js\nimport tests.conftest\nfrom .conftest import SCREENSHOTS\n"
              "from . import test_activity_flows\nfrom tests import test_mail\nfrom tests.helpers import outbox\n"
              "from tests import helpers\nimport json\n")
    assert imported_test_modules(source, "tests.browser") == [
        "tests.browser.conftest", "tests.browser.test_activity_flows", "tests.conftest", "tests.test_calendar",
        "tests.test_mail"]
