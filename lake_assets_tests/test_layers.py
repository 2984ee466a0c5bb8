"""The package's layers are its folders, read from the imports (`ast`, lazy imports included):
core/ imports no Dagster and nothing above it, orchestration/ no tools/; no import circles;
small modules; the settings read in one module; and the tests mirror the package."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lake_assets"
# What each folder may import of the package (docs/architecture.md, "The folders").
MAY_IMPORT = {
    "core": {"core"},
    "orchestration": {"core", "orchestration"},
    "tools": {"core", "orchestration", "tools"},
    "defs": {"orchestration"},
}
# Runs on EMR with dagster-pipes only: the one Dagster package the core may import.
PIPES_ONLY = {"lake_assets.core.spark_job"}
DAGSTER = re.compile(r"dagster(_\w+)?$")
MAX_LINES = 500


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m in imports(path) if m in mods and m != name and not name.startswith(m + ".")}
            for name, path in mods.items()}


def folder(module: str) -> str:
    """lake_assets.core.storage -> core; the package itself -> ''."""
    return module.split(".")[1] if module.count(".") else ""


def test_the_package_is_its_folders():
    loose = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py" and p.name != "__init__.py")
    assert loose == []
    assert {folder(m) for m in modules()} == {"", *MAY_IMPORT}


def test_each_folder_imports_only_what_it_may():
    edges = graph()
    wrong = {name: sorted(m for m in targets if folder(m) not in MAY_IMPORT[folder(name)])
             for name, targets in edges.items() if folder(name)}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_the_core_imports_no_dagster():
    found = {}
    for name, path in modules().items():
        if folder(name) == "core":
            dagster = {m for m in imports(path) if DAGSTER.match(m.split(".")[0])}
            if name in PIPES_ONLY:
                dagster = {m for m in dagster if not m.startswith("dagster_pipes")}
            if dagster:
                found[name] = sorted(dagster)
    assert found == {}


def test_no_import_circles():
    edges, state, circles = graph(), {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(trail[trail.index(nxt):] + [node, nxt]) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [])
    assert circles == []


def test_modules_are_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_settings_are_read_in_one_module():
    reads = re.compile(r"""(getenv\(|environ\.get\(|environ\[|setdefault\()["']LAKE_""")
    assert {name for name, path in modules().items() if reads.search(path.read_text())} <= {"lake_assets.core.settings"}


def test_the_tests_mirror_the_package():
    """Each test module in the folder of the layer it tests, the helpers in support/; at the top
    only the suite's own (conftest, its markers) and this one, which tests the whole package."""
    tests = ROOT / "lake_assets_tests"
    at_top = sorted(p.name for p in tests.glob("*.py"))
    assert at_top == ["__init__.py", "conftest.py", "test_layers.py", "test_markers.py"]
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"core", "orchestration", "tools", "support"}
    assert all((tests / f / "__init__.py").is_file() for f in folders)
    assert not list((tests / "support").glob("test_*.py"))


def test_each_build_reads_what_its_checks_reference():
    """The tables a build's checks look up (foreign keys) are among what it declares it reads."""
    from lake_assets.core.tables import BUILDS

    for build in BUILDS.values():
        for table in build.tables:
            referenced = {ref for check in table.all_checks() for ref, _ in check.references.values()}
            assert referenced <= set(table.reads), (table.name, referenced - set(table.reads))


def test_a_build_cannot_read_an_undeclared_table():
    from lake_assets.core.tables.table import BuildError, Inputs

    class NoLake:
        def read(self, table):
            return table

    inputs = Inputs(spark=None, lake=NoLake(), raw_dir="-", cache_dir="-", reads=frozenset({"dim_city"}))
    assert inputs.read("dim_city") == "dim_city"
    with pytest.raises(BuildError, match="reads dim_visa but does not declare it"):
        inputs.read("dim_visa")


def test_every_setting_is_documented():
    from lake_assets.core.settings import SETTINGS

    docs = "".join(path.read_text() for path in (ROOT / "docs").glob("*.md"))
    assert [s.name for s in SETTINGS if s.name not in docs] == []
