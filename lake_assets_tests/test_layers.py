"""The package's layers, read from its imports (`ast`): no import circles, lazy imports
included, and no Dagster in the code that also runs on a cluster or reads the lake."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lake_assets"
# Run by spark_job.py on EMR (with dagster-pipes only) or used without Dagster: never import it.
DAGSTER_FREE = ("settings", "s3", "catalog", "storage", "staged", "quality", "steps", "maintenance", "query", "report",
                "spark_job", "mail", "failures", "tables", "transforms", "sources", "generate")
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


def test_no_dagster_below_the_assets():
    mods, edges = modules(), graph()
    for name, path in mods.items():
        short = name.removeprefix("lake_assets.")
        if short.split(".")[0] in DAGSTER_FREE:
            dagster = {m for m in imports(path) if m.split(".")[0] in ("dagster", "dagster_aws", "dagster_pyspark")}
            if short == "spark_job":
                dagster -= {m for m in dagster if m.startswith("dagster_pipes")}
            assert not dagster, f"{name} imports {sorted(dagster)}"
            assert not {m for m in edges[name] if m.removeprefix("lake_assets.").split(".")[0] not in DAGSTER_FREE}, name


def test_modules_are_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_settings_are_read_in_one_module():
    reads = re.compile(r"""(getenv\(|environ\.get\(|environ\[|setdefault\()["']LAKE_""")
    assert {name for name, path in modules().items() if reads.search(path.read_text())} <= {"lake_assets.settings"}


def test_each_build_reads_what_its_checks_reference():
    """The tables a build's checks look up (foreign keys) are among what it declares it reads."""
    from lake_assets.tables import BUILDS

    for build in BUILDS.values():
        for table in build.tables:
            referenced = {ref for check in table.all_checks() for ref, _ in check.references.values()}
            assert referenced <= set(table.reads), (table.name, referenced - set(table.reads))


def test_a_build_cannot_read_an_undeclared_table():
    from lake_assets.tables.table import Inputs, StepError

    class NoLake:
        def read(self, table):
            return table

    inputs = Inputs(spark=None, lake=NoLake(), raw_dir="-", cache_dir="-", reads=frozenset({"dim_city"}))
    assert inputs.read("dim_city") == "dim_city"
    with pytest.raises(StepError, match="reads dim_visa but does not declare it"):
        inputs.read("dim_visa")


def test_every_setting_is_documented():
    from lake_assets.settings import SETTINGS

    docs = "".join(path.read_text() for path in (PACKAGE.parent / "docs").glob("*.md"))
    assert [s.name for s in SETTINGS if s.name not in docs] == []
