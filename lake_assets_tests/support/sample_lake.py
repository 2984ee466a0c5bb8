"""The test run's sample lake: a generated sample of three months and the lake `lake build` made
of it, on a LAKE_HOME of its own (the `sample` fixture of conftest.py builds it once per test session)."""

from pathlib import Path
from typing import NamedTuple

import pytest

# Three months: the arrivals–temperature correlation needs at least three.
MONTHS = ["2016-03", "2016-04", "2016-05"]
SCALE = 0.0005  # ~1,600 I94 rows a month


class Sample(NamedTuple):
    raw: Path
    lake: Path
    dagster_home: Path  # the Dagster instance holding the build's runs: `<home>/dagster`
    home: Path  # the LAKE_HOME of the build: `lake ui` with it opens that instance


def build_sample(root: Path) -> Sample:
    """Generate the sample under `root` and build its lake with `lake build` (in this process),
    which records its runs where it does by default: in the instance of its LAKE_HOME, `root/home`."""
    from lake_assets.core.generate import generate_raw
    from lake_assets.tools.cli import main

    sample = Sample(root / "raw", root / "lake", root / "home" / "dagster", root / "home")
    generate_raw(sample.raw, scale=SCALE, months=MONTHS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKE_HOME", str(sample.home))
        mp.delenv("DAGSTER_HOME", raising=False)
        assert main(["build", "--raw", str(sample.raw), "--lake", str(sample.lake)]) == 0, "the sample's build failed"
    return sample
