"""`lake report` on a small generated lake: self-contained, all charts, figures that `lake query` confirms."""

import base64
import json
import re

import pytest

from lake_assets.core import report
from lake_assets.tools.cli import main
from lake_assets_tests.support.sample_lake import MONTHS

# Independent recomputations from the fact and the dimensions (not from the analytics tables).
PLACED = ("(select f.*, v.visa_category from fact_immigration f join dim_visa v on f.visa_type = v.visa_type "
          "where f.city_id is not null) f")
SEASON = ("case when f.i94mon in (12, 1, 2) then 'winter' when f.i94mon in (3, 4, 5) then 'spring' "
          "when f.i94mon in (6, 7, 8) then 'summer' else 'autumn' end")


@pytest.fixture(scope="module")
def page(sample, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--lake", str(sample.lake), "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def figures(page) -> dict:
    block = re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", page, re.S)
    return json.loads(block.group(1))


@pytest.fixture
def sql(sample, capsys):
    def run(query: str) -> list[dict]:
        code = main(["query", query, "--lake", str(sample.lake), "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)
    return run


def test_page_is_self_contained_with_every_chart(page, figures):
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|<link|@import|url\(\s*["']?(?:https?:)?//""", page)
    assert re.findall(r"<h2 id='(\w+)'>", page) == [s.key for s in report.SECTIONS]
    assert page.count("<svg") == len(report.SECTIONS)
    assert all(figures[s.key] for s in report.SECTIONS)


def test_summary_and_monthly_arrivals_agree_with_the_fact(figures, sql):
    placed = sql(f"select f.i94mon, f.visa_type, count(*) as n, avg(t.avg_temperature_c) as temperature from {PLACED} "
                 "left join dim_temperature t on f.city_id = t.city_id and f.i94mon = t.month "
                 "group by f.i94mon, f.visa_type")
    assert figures["summary"]["arrivals"] == sum(r["n"] for r in placed)
    assert figures["summary"]["months"] == len(MONTHS)
    monthly = {(r["month"], r["visa_type"]): r for r in figures["monthly"]}
    assert {k: r["arrivals"] for k, r in monthly.items()} == {(r["i94mon"], r["visa_type"]): r["n"] for r in placed}
    for r in placed:
        assert monthly[r["i94mon"], r["visa_type"]]["temperature_c"] == pytest.approx(r["temperature"], abs=1e-9)


def test_seasons_agree_with_the_fact(figures, sql):
    placed = sql(f"select {SEASON} as season, f.visa_type, count(*) as n from {PLACED} group by all")
    assert {(r["season"], r["visa_type"]): r["arrivals"] for r in figures["season"]} == \
        {(r["season"], r["visa_type"]): r["n"] for r in placed}
    assert {r["season"] for r in figures["season"]} == {"spring"} and {r["months"] for r in figures["season"]} <= {1, 2, 3}


def test_top_destinations_per_100k_agree_with_the_fact(figures, sql, page):
    expected = sql(f"""
        with per_city as (
            select f.visa_type, f.city_id, count(*) as n, count(*) * 100000.0 / c.total_population as per_100k
            from {PLACED} join dim_city c on f.city_id = c.city_id where c.total_population is not null
            group by f.visa_type, f.city_id, c.total_population),
        top_types as (select f.visa_type from {PLACED} group by 1 order by count(*) desc, 1 limit {report.TOP_VISA_TYPES})
        select visa_type, city_id, n, per_100k,
               row_number() over (partition by visa_type order by per_100k desc, city_id) as rank
        from per_city where visa_type in (select visa_type from top_types)
        qualify rank <= {report.TOP_CITIES}""")
    got = {(r["visa_type"], r["rank"]): r for r in figures["destinations"]}
    assert set(got) == {(r["visa_type"], r["rank"]) for r in expected}
    for r in expected:
        row = got[r["visa_type"], r["rank"]]
        assert (row["city_id"], row["arrivals"]) == (r["city_id"], r["n"])
        assert row["arrivals_per_100k"] == pytest.approx(r["per_100k"], rel=1e-9)
    first = figures["destinations"][0]
    assert f"<td>{first['arrivals_per_100k']:,.3f}</td>" in page  # the table shows the same figure


def test_correlations_agree_with_the_fact(figures, sql):
    expected = sql(f"""
        with monthly as (select f.city_id, f.visa_category, f.i94mon, count(*) as n from {PLACED} group by all)
        select m.city_id, m.visa_category, corr(m.n, t.avg_temperature_c) as r, count(t.avg_temperature_c) as months
        from monthly m join dim_temperature t on m.city_id = t.city_id and m.i94mon = t.month
        group by all having count(t.avg_temperature_c) >= {report.MIN_MONTHS} and not isnan(corr(m.n, t.avg_temperature_c))""")
    expected = {(r["city_id"], r["visa_category"]): r for r in expected}
    assert figures["correlation"]
    assert len({r["city_id"] for r in figures["correlation"]}) == min(report.CORRELATION_CITIES,
                                                                       len({k[0] for k in expected}))
    for row in figures["correlation"]:
        found = expected[row["city_id"], row["visa_category"]]
        assert row["pearson_r"] == pytest.approx(found["r"], abs=1e-9) and row["months"] == found["months"]


def test_charts_in_dagster_metadata(sample):
    from dagster import AssetKey, DagsterInstance

    instance = DagsterInstance.from_config(str(sample.dagster_home))
    expected = {"metro_arrivals_monthly": ["chart_monthly", "chart_destinations"],
                "tourism_by_season": ["chart_season"],
                "arrivals_temperature_correlation": ["chart_correlation"]}
    for asset, charts in expected.items():
        metadata = instance.get_latest_materialization_event(AssetKey(asset)).asset_materialization.metadata
        for chart in charts:
            png = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", metadata[chart].value).group(1)
            assert base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")
    assert "build more months" in report.chart_markdown(report.section("correlation"), [])


def test_missing_analytics_is_one_line(spark, tmp_path, capsys):
    from lake_assets.core.storage import Lake

    lake = Lake(spark, str(tmp_path / "lake"))
    lake.publish(lake.stage("dim_visa", spark.createDataFrame([("B2", 2)], "visa_type string, visa_category_code int")))
    assert main(["report", "--lake", str(tmp_path / "lake"), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lake: Catalog Error: Table with name metro_arrivals_monthly does not exist!")
    assert err.count("\n") == 1 and not (tmp_path / "r.html").exists()
