"""A small lake built from a generated sample, once per test session (query and report tests)."""

import io
import os
from pathlib import Path

# Three months: the arrivals–temperature correlation needs at least three.
MONTHS = ["2016-03", "2016-04", "2016-05"]
SCALE = 0.0005  # ~1,600 I94 rows a month
_built: dict[str, Path] = {}


def sample_lake(tmp_path_factory) -> tuple[Path, Path]:
    """(lake, Dagster home holding the build's runs), generated and built on first use."""
    if not _built:
        from lake_assets.core.generate import generate_raw
        from lake_assets.tools.build import build

        root = tmp_path_factory.mktemp("sample")
        generate_raw(root / "raw", scale=SCALE, months=MONTHS)
        home = root / "dagster"
        home.mkdir()
        previous = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = str(home)  # the build records its runs there
        try:
            report = build(str(root / "raw"), str(root / "lake"), None, out=io.StringIO())
        finally:
            if previous is None:
                del os.environ["DAGSTER_HOME"]
            else:
                os.environ["DAGSTER_HOME"] = previous
        assert not report.errors and not report.failed_blocking, report.errors or report.failed_blocking
        _built.update(lake=root / "lake", dagster_home=home)
    return _built["lake"], _built["dagster_home"]
