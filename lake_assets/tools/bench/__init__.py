"""`lake bench`: time a whole build through Dagster, asset by asset, with the peak memory of
the process tree (the JVM included), and each month's fact build against a DuckDB reference
implementation of the same transformation (same input, same outputs, same reject rules).

A benchmark, not a test: it prints figures and asserts nothing about them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lake_assets.core.generate import DEFAULT_SCALE
from lake_assets.core.settings import lake_home
from lake_assets.core.sources import find_i94_months
from lake_assets.core.tables import BUILDS
from lake_assets.orchestration.spark import get_spark
from lake_assets.tools.bench.memory import PeakMemory
from lake_assets.tools.bench.reference import duckdb_fact
from lake_assets.tools.build import UsageError, absolute, build, generate, parse_months


def _build_once(raw: str, lake: str, months_spec: str | None) -> tuple[object, float, int]:
    """One `lake build` (its summary swallowed): (report, wall seconds, peak tree RSS bytes)."""
    sampler = PeakMemory()
    sampler.start()
    started = time.monotonic()
    try:
        report = build(raw, lake, months_spec, out=io.StringIO())
    finally:
        wall = time.monotonic() - started
        peak = sampler.stop()
    if report.errors or report.failed_blocking:
        raise UsageError(f"the build failed: {'; '.join(report.errors or report.failed_blocking)}")
    return report, wall, peak


def _keep_best(best: dict, report, rows: dict) -> None:
    """Keep in `best` each build's fastest run so far, with its rows and bytes."""
    for step, partition, seconds in report.steps:
        tables = [table.name for table in BUILDS[step].tables]
        n = sum(rows.get((t, partition)) or 0 for t in tables)
        size = sum(report.bytes_written.get((t, partition), 0) for t in tables)
        if (step, partition) not in best or seconds < best[(step, partition)]["seconds"]:
            best[(step, partition)] = {"asset": step, "partition": partition[:7], "seconds": round(seconds, 3),
                                       "rows": n, "rows_per_s": round(n / seconds) if seconds else None,
                                       "bytes": size}


def _fact_rows(facts: dict[str, list[dict]]) -> list[dict]:
    """Per month: the best Spark and DuckDB times of the fact, their ratio, and whether both counted the same."""
    fact_rows = []
    for m, runs in facts.items():
        spark_s, duckdb_s = min(r["spark_s"] for r in runs), min(r["duckdb_s"] for r in runs)
        last = runs[-1]
        fact_rows.append({"month": m, "spark_s": round(spark_s, 3), "duckdb_s": round(duckdb_s, 3),
                          "ratio": round(spark_s / duckdb_s, 2), "rows": last["spark_rows"],
                          "reject_rows": last["spark_reject_rows"],
                          "same_counts": (last["spark_rows"], last["spark_reject_rows"])
                          == (last["duckdb_rows"], last["duckdb_reject_rows"])})
    return fact_rows


def bench(raw: str | None, scale: float | None, months_spec: str | None, repeat: int = 1, out=None) -> dict:
    """Build the lake `repeat` times (from `raw`, or from a raw folder generated at `scale`
    into a temporary folder) and each month's fact with DuckDB as often; print the per-asset
    table (best of the repeats) and, last, one JSON line with every figure. Returns the figures."""
    out = out or sys.stdout
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {repeat}")
    sampler = PeakMemory()
    sampler.start()
    run_started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lake_bench_") as tmp:
        generate_s = None
        if raw is None:
            scale = DEFAULT_SCALE if scale is None else scale
            t0 = time.monotonic()
            generate(f"{tmp}/raw", scale, months_spec, 42, out=sys.stderr)
            generate_s, raw = time.monotonic() - t0, f"{tmp}/raw"
        raw = absolute(raw)
        extracts = find_i94_months(raw)
        months = parse_months(months_spec, sorted(extracts))
        t0 = time.monotonic()
        get_spark()
        spark_start_s = time.monotonic() - t0

        builds, best, facts = [], {}, {m: [] for m in months}
        for i in range(repeat):
            lake = f"{tmp}/lake{i}"
            report, wall, peak = _build_once(raw, lake, ",".join(months))
            builds.append({"wall_s": round(wall, 3), "peak_rss_bytes": peak})
            rows = {(t, p): n for t, p, n in report.tables}
            _keep_best(best, report, rows)
            for m in months:
                year, month = int(m[:4]), int(m[5:])
                ref_dir = Path(tmp) / f"duckdb{i}" / m
                ref_dir.mkdir(parents=True)
                ref = duckdb_fact(extracts[m], str(lake_home() / "cache"), lake, year, month, ref_dir)
                facts[m].append({"duckdb_s": ref["seconds"], "duckdb_rows": ref["rows"],
                                 "duckdb_reject_rows": ref["reject_rows"],
                                 "spark_rows": rows.get(("fact_immigration", f"{m}-01")),
                                 "spark_reject_rows": rows.get(("fact_immigration_rejects", f"{m}-01")),
                                 "spark_s": next(s for st, p, s in report.steps if st == "immigration"
                                                 and p == f"{m}-01")})
    peak = sampler.stop()
    build_wall = min(b["wall_s"] for b in builds)
    fact_rows = _fact_rows(facts)
    dimensions = {a["asset"]: a["seconds"] for a in best.values() if BUILDS[a["asset"]].group == "dimensions"}
    figures = {
        "raw": raw if generate_s is None else None, "scale": scale,
        "months": months, "repeat": repeat, "generate_s": None if generate_s is None else round(generate_s, 3),
        "spark_start_s": round(spark_start_s, 3),
        "build_wall_s": build_wall, "builds": builds,
        "peak_rss_bytes": peak, "total_wall_s": round(time.monotonic() - run_started, 3),
        "assets": list(best.values()), "facts": fact_rows,
        # The ratios the build is judged by, each from this run's own figures.
        "build_vs_spark_start": round(build_wall / spark_start_s, 2),
        "build_vs_duckdb_months": round(build_wall / sum(f["duckdb_s"] for f in fact_rows), 2),
        "dimension_seconds": dimensions, "slowest_dimension_s": max(dimensions.values(), default=None),
    }
    _print(figures, out)
    return figures


def _print(figures: dict, out) -> None:
    print(f"\n{'asset':<34}{'partition':<10}{'seconds':>9}{'rows':>12}{'rows/s':>12}{'bytes':>14}", file=out)
    for a in figures["assets"]:
        rate = "" if a["rows_per_s"] is None else f"{a['rows_per_s']:,}"
        print(f"{a['asset']:<34}{a['partition']:<10}{a['seconds']:>9.2f}{a['rows']:>12,}{rate:>12}{a['bytes']:>14,}",
              file=out)
    print(f"\n{'fact build':<12}{'spark s':>9}{'duckdb s':>10}{'ratio':>7}{'rows':>12}{'rejects':>10}  same counts",
          file=out)
    for f in figures["facts"]:
        print(f"{f['month']:<12}{f['spark_s']:>9.2f}{f['duckdb_s']:>10.2f}{f['ratio']:>7.2f}{f['rows']:>12,}"
              f"{f['reject_rows']:>10,}  {'yes' if f['same_counts'] else 'NO'}", file=out)
    builds = ", ".join(f"{b['wall_s']:.1f}s" for b in figures["builds"])
    print(f"\nSpark session start {figures['spark_start_s']:.1f}s; build wall (best of {figures['repeat']}) "
          f"{figures['build_wall_s']:.1f}s [{builds}]; peak memory incl. JVM "
          f"{figures['peak_rss_bytes'] / 2**30:.2f} GiB; whole bench {figures['total_wall_s']:.1f}s", file=out)
    print(f"build / Spark start {figures['build_vs_spark_start']:.1f}x; build / DuckDB's months together "
          f"{figures['build_vs_duckdb_months']:.1f}x; slowest dimension {figures['slowest_dimension_s']:.2f}s; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=out)
    print(json.dumps(figures), file=out)


def suite(out=None) -> int:
    """Run the project's whole test suite (pytest in the project folder, as scripts/test.sh
    does after setup) and print its wall time, then one JSON line; return pytest's exit code."""
    out = out or sys.stdout
    root = Path(__file__).resolve().parents[3]
    if not (root / "lake_assets_tests").is_dir():
        raise UsageError(f"no test suite beside the installed package ({root}): run it from a clone")
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest"], cwd=root,
                           env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    wall = time.monotonic() - started
    print(f"\ntest suite: {wall:.1f}s, pytest exit code {code}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", file=out)
    print(json.dumps({"suite_wall_s": round(wall, 3), "exit_code": code}), file=out)
    return code
