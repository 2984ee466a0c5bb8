"""The test run's sample lake: a generated sample of three months and the lake `lake build` made
of it (the `sample` fixture of conftest.py builds it once per test session)."""

import io
from pathlib import Path
from typing import NamedTuple

# Three months: the arrivals–temperature correlation needs at least three.
MONTHS = ["2016-03", "2016-04", "2016-05"]
SCALE = 0.0005  # ~1,600 I94 rows a month


class Sample(NamedTuple):
    raw: Path
    lake: Path
    dagster_home: Path  # the Dagster instance holding the build's runs


def build_sample(root: Path) -> Sample:
    """Generate the sample under `root` and build its lake, recording the runs in `root/dagster`."""
    from lake_assets.core.generate import generate_raw
    from lake_assets.tools.build import build

    sample = Sample(root / "raw", root / "lake", root / "dagster")
    generate_raw(sample.raw, scale=SCALE, months=MONTHS)
    report = build(str(sample.raw), str(sample.lake), None, out=io.StringIO(), home=sample.dagster_home)
    assert not report.errors and not report.failed_blocking, report.errors or report.failed_blocking
    return sample
