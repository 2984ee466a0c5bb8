"""The analysts' report: one self-contained HTML page of charts from the analytics tables.

Each `Section` is one question, one SQL query over the analytics tables (plain SQL that
DuckDB and Spark both run) and one chart drawn with matplotlib. `write_report` runs the
queries with DuckDB through `lake_assets.core.query` and writes charts as inline SVG, tables
and the figures themselves as a JSON block (`<script id="report-data">`); the analytics
assets attach the same charts as PNG to their Dagster metadata (`chart_markdown`).
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import matplotlib
from matplotlib.figure import Figure

from lake_assets.core import settings
from lake_assets.core.s3 import is_s3

CATEGORY_COLORS = {"Business": "#1f6fb2", "Pleasure": "#f28e2b", "Student": "#59a14f"}
SEASONS = ("winter", "spring", "summer", "autumn")
TOP_VISA_TYPES = 6
TOP_CITIES = 10
CORRELATION_CITIES = 15
MIN_MONTHS = 3  # as lake_assets.core.transforms.analytics.MIN_CORRELATION_MONTHS (no Spark import here)
TEMPERATURE_COLOR = "#c0392b"
RC = {"svg.fonttype": "none", "svg.hashsalt": "lake-report", "font.size": 8.5,
      "axes.spines.top": False, "axes.spines.right": False}

Rows = list[dict]


def _weighted_temperature(rows: Rows) -> float | None:
    """Mean temperature of the rows' destinations, weighted by their arrivals with a temperature."""
    weight = sum(r["arrivals_with_temperature"] or 0 for r in rows)
    if not weight:
        return None
    return sum(r["temperature_c"] * r["arrivals_with_temperature"] for r in rows if r["temperature_c"] is not None) / weight


def _top_visa_types(rows: Rows) -> list[str]:
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["visa_type"]] = totals.get(r["visa_type"], 0) + r["arrivals"]
    return sorted(totals, key=lambda v: (-totals[v], v))[:TOP_VISA_TYPES]


def _bars_with_temperature(ax, labels: list[str], groups: list[Rows], stacked: bool) -> None:
    """Arrivals per label by visa category (stacked or side by side), the temperature on a twin axis."""
    categories = [c for c in CATEGORY_COLORS if any(r["visa_category"] == c for g in groups for r in g)]
    width = 0.8 if stacked else 0.8 / max(len(categories), 1)
    bottom = [0] * len(labels)
    for i, category in enumerate(categories):
        values = [sum(r["arrivals"] for r in g if r["visa_category"] == category) for g in groups]
        x = list(range(len(labels))) if stacked else [j - 0.4 + width * (i + 0.5) for j in range(len(labels))]
        ax.bar(x, values, width, bottom=bottom if stacked else None, label=category, color=CATEGORY_COLORS[category])
        if stacked:
            bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0)
    ax.set_ylabel("arrivals")
    temps = [_weighted_temperature(g) for g in groups]
    twin = ax.twinx()
    twin.plot([i for i, t in enumerate(temps) if t is not None], [t for t in temps if t is not None],
              "o-", color=TEMPERATURE_COLOR, label="temperature (°C)")
    twin.set_ylabel("mean temperature of destinations (°C)", color=TEMPERATURE_COLOR)
    twin.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)


def _by_visa_type(ax, labels: list[str], groups: list[Rows], kind: str) -> None:
    """Arrivals of the top visa types per label: lines (months) or grouped bars (seasons)."""
    types = _top_visa_types([r for g in groups for r in g])
    width = 0.8 / max(len(types), 1)
    for i, visa_type in enumerate(types):
        values = [sum(r["arrivals"] for r in g if r["visa_type"] == visa_type) for g in groups]
        if kind == "line":
            ax.plot(range(len(labels)), values, "o-", label=visa_type, color=f"C{i}")
        else:
            ax.bar([j - 0.4 + width * (i + 0.5) for j in range(len(labels))], values, width, label=visa_type,
                   color=f"C{i}")
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0)
    ax.set_ylabel("arrivals")
    ax.set_title(f"top {len(types)} visa types", fontsize=9)
    ax.legend(fontsize=7, frameon=False, ncol=2)


def _grouped(rows: Rows, key: Callable[[dict], str], order: list[str]) -> tuple[list[str], list[Rows]]:
    labels = [k for k in order if any(key(r) == k for r in rows)]
    return labels, [[r for r in rows if key(r) == k] for k in labels]


def draw_monthly(fig: Figure, rows: Rows) -> None:
    def month(r):
        return f"{r['year']}-{r['month']:02d}"

    labels, groups = _grouped(rows, month, sorted({month(r) for r in rows}))
    left, right = fig.subplots(1, 2)
    _bars_with_temperature(left, labels, groups, stacked=True)
    left.set_title("by visa category", fontsize=9)
    _by_visa_type(right, labels, groups, "line")


def draw_season(fig: Figure, rows: Rows) -> None:
    seasons, groups = _grouped(rows, lambda r: r["season"], list(SEASONS))
    labels = [f"{s}\n({max(r['months'] for r in g)} of 3 months)" for s, g in zip(seasons, groups)]
    left, right = fig.subplots(1, 2)
    _bars_with_temperature(left, labels, groups, stacked=False)
    left.set_title("by visa category", fontsize=9)
    _by_visa_type(right, labels, groups, "bar")


def draw_destinations(fig: Figure, rows: Rows) -> None:
    types = list(dict.fromkeys(r["visa_type"] for r in rows))
    cols = min(3, len(types))
    axes = fig.subplots((len(types) + cols - 1) // cols, cols, squeeze=False).flatten()
    for ax, visa_type in zip(axes, types):
        top = [r for r in rows if r["visa_type"] == visa_type][::-1]
        ax.barh([f"{r['city']}, {r['state_code']}" for r in top], [r["arrivals_per_100k"] for r in top],
                color=CATEGORY_COLORS.get(top[0]["visa_category"], "grey"))
        ax.set_title(f"{visa_type} ({top[0]['visa_category']})", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("arrivals per 100k inhabitants", fontsize=7)
    for ax in axes[len(types):]:
        ax.set_visible(False)


def draw_correlation(fig: Figure, rows: Rows) -> None:
    ax = fig.subplots()
    cities = list(dict.fromkeys(f"{r['city']}, {r['state_code']}" for r in rows))[::-1]
    categories = [c for c in CATEGORY_COLORS if any(r["visa_category"] == c for r in rows)]
    height = 0.8 / max(len(categories), 1)
    for i, category in enumerate(categories):
        found = {f"{r['city']}, {r['state_code']}": r["pearson_r"] for r in rows if r["visa_category"] == category}
        ys = [j - 0.4 + height * (i + 0.5) for j, c in enumerate(cities) if c in found]
        ax.barh(ys, [found[c] for c in cities if c in found], height, label=category, color=CATEGORY_COLORS[category])
    ax.set_yticks(range(len(cities)), cities)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Pearson r of monthly arrivals and temperature")
    ax.legend(fontsize=7, frameon=False, loc="lower right")


@dataclass(frozen=True)
class Section:
    """One question of the report: its SQL over the lake's tables and its chart."""

    key: str
    title: str
    text: str
    tables: tuple[str, ...]
    sql: str
    draw: Callable[[Figure, Rows], None]
    size: tuple[float, float]
    empty: str = "no rows in the lake for this chart"


_WEIGHTED = """sum(avg_temperature_c * arrivals) / sum(case when avg_temperature_c is not null then arrivals end)
           as temperature_c,
       sum(case when avg_temperature_c is not null then arrivals else 0 end) as arrivals_with_temperature"""

SECTIONS = (
    Section(
        "monthly", "Arrivals by month, per visa category and type, beside temperature",
        "Arrivals at US ports with a known city per month; the red line is the mean temperature of their "
        "destinations that month (a month-of-year climatology), weighted by arrivals.",
        ("metro_arrivals_monthly",),
        f"""select i94yr as year, i94mon as month, visa_category, visa_type, sum(arrivals) as arrivals,
       {_WEIGHTED}
from metro_arrivals_monthly
group by i94yr, i94mon, visa_category, visa_type
order by year, month, visa_category, visa_type""",
        draw_monthly, (10, 3.6)),
    Section(
        "season", "Arrivals by season, per visa category and type, beside temperature",
        "Seasons are winter (Dec–Feb), spring (Mar–May), summer (Jun–Aug) and autumn (Sep–Nov); "
        "a label says how many of the season's months are in the lake.",
        ("tourism_by_season",),
        f"""select season, visa_category, visa_type, sum(arrivals) as arrivals, max(months) as months,
       {_WEIGHTED}
from tourism_by_season
group by season, visa_category, visa_type
order by case season when 'winter' then 1 when 'spring' then 2 when 'summer' then 3 else 4 end,
         visa_category, visa_type""",
        draw_season, (10, 3.6)),
    Section(
        "destinations", "Top metropolitan destinations by visa type, per 100k inhabitants",
        f"For the {TOP_VISA_TYPES} visa types with most arrivals, the {TOP_CITIES} cities with most arrivals "
        "per 100,000 inhabitants over the months in the lake (cities with demographics only).",
        ("metro_arrivals_monthly",),
        f"""with per_city as (
    select visa_type, visa_category, city_id, city, state_code, total_population,
           sum(arrivals) as arrivals, sum(arrivals_per_100k) as arrivals_per_100k
    from metro_arrivals_monthly
    where total_population is not null
    group by visa_type, visa_category, city_id, city, state_code, total_population),
top_types as (
    select visa_type, sum(arrivals) as type_arrivals from metro_arrivals_monthly
    group by visa_type order by type_arrivals desc, visa_type limit {TOP_VISA_TYPES}),
ranked as (
    select p.*, t.type_arrivals,
           row_number() over (partition by p.visa_type order by p.arrivals_per_100k desc, p.city_id) as rank
    from per_city p join top_types t on p.visa_type = t.visa_type)
select visa_type, visa_category, rank, city_id, city, state_code, total_population, arrivals, arrivals_per_100k
from ranked where rank <= {TOP_CITIES}
order by type_arrivals desc, visa_type, rank""",
        draw_destinations, (10, 5.2)),
    Section(
        "correlation", "Arrivals–temperature correlation per city",
        f"Pearson r of a city's monthly arrivals and its monthly temperature, per visa category, for the "
        f"{CORRELATION_CITIES} cities with most arrivals among those with an r (it needs at least "
        f"{MIN_MONTHS} months with a temperature). r > 0: more arrivals in warmer months.",
        ("arrivals_temperature_correlation", "dim_city"),
        f"""with top_cities as (
    select city_id, sum(arrivals) as city_arrivals from arrivals_temperature_correlation
    where pearson_r is not null
    group by city_id order by city_arrivals desc, city_id limit {CORRELATION_CITIES})
select c.city_id, d.city, d.state_code, c.visa_category, c.months, c.arrivals, c.pearson_r
from arrivals_temperature_correlation c
join top_cities t on c.city_id = t.city_id
left join dim_city d on c.city_id = d.city_id
where c.pearson_r is not null
order by t.city_arrivals desc, c.city_id, c.visa_category""",
        draw_correlation, (8, 5.2),
        empty=f"no city has {MIN_MONTHS} months with a temperature yet: build more months"),
)

SUMMARY_SQL = """select count(distinct i94yr * 100 + i94mon) as months, min(i94yr * 100 + i94mon) as first_month,
       max(i94yr * 100 + i94mon) as last_month, sum(arrivals) as arrivals, count(distinct city_id) as cities,
       sum(case when avg_temperature_c is not null then arrivals else 0 end) as arrivals_with_temperature
from metro_arrivals_monthly"""


def section(key: str) -> Section:
    return next(s for s in SECTIONS if s.key == key)


def figure(sec: Section, rows: Rows, dpi: int = 100) -> Figure | None:
    """The section's chart, or None when there is nothing to draw."""
    if not rows:
        return None
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=sec.size, dpi=dpi, layout="constrained")
        sec.draw(fig, rows)
    return fig


def _save(fig: Figure, fmt: str) -> bytes:
    out = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return out.getvalue()


def svg(fig: Figure) -> str:
    """The chart as an inline <svg> element."""
    text = _save(fig, "svg").decode()
    return text[text.index("<svg"):]


def chart_markdown(sec: Section, rows: Rows) -> str:
    """Markdown for Dagster metadata: the chart as an embedded PNG, or why there is none."""
    fig = figure(sec, rows, dpi=72)
    if fig is None:
        return f"**{sec.title}**\n\n{sec.empty}"
    png = base64.b64encode(_save(fig, "png")).decode()
    return f"**{sec.title}**\n\n![{sec.key}](data:image/png;base64,{png})\n\n{sec.text}"


def _json_default(value):
    return value.isoformat() if hasattr(value, "isoformat") else float(value)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _table(rows: Rows) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
svg{max-width:100%;height:auto}.note{color:#666}table{border-collapse:collapse;font-size:.85em}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}th{background:#f5f5f5}
td:nth-child(-n+4){text-align:left}details{margin:.5em 0 1em}"""


def render_html(summary: dict, data: dict[str, Rows], lake: str) -> str:
    """The page: a summary, then per section its question, chart, table; the figures as JSON."""
    first, last = summary["first_month"], summary["last_month"]
    period = f"{first // 100}-{first % 100:02d} … {last // 100}-{last % 100:02d}" if first else "no months"
    share = summary["arrivals_with_temperature"] / summary["arrivals"] if summary["arrivals"] else 0
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>I94 arrivals, seasons and temperature</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>I94 arrivals, seasons and temperature</h1>",
        f"<p>Lake <code>{html.escape(lake)}</code>: {summary['months']} month(s), {period}; "
        f"{summary['arrivals'] or 0:,} arrivals at {summary['cities']:,} US cities, {share:.0%} of them with a "
        f"temperature. Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by <code>lake report</code>; "
        "every figure below comes from the lake's analytics tables (the SQL is in "
        "<code>lake_assets/core/report.py</code>) and can be checked with <code>lake query</code>.</p>",
    ]
    for sec in SECTIONS:
        rows = data[sec.key]
        fig = figure(sec, rows)
        parts += [f"<h2 id='{sec.key}'>{html.escape(sec.title)}</h2>", f"<p>{html.escape(sec.text)}</p>",
                  svg(fig) if fig else f"<p class='note'>{html.escape(sec.empty)}</p>"]
        if rows:
            parts.append(f"<details><summary>the figures ({len(rows)} rows)</summary>{_table(rows)}</details>")
    blob = json.dumps({"summary": summary, **data}, default=_json_default).replace("</", "<\\/")
    parts += [f"<script type='application/json' id='report-data'>{blob}</script>", "</body></html>"]
    return "\n".join(parts)


def report_data(run: Callable[[str], Rows]) -> tuple[dict, dict[str, Rows]]:
    """The summary and every section's rows, with `run` executing SQL (DuckDB or Spark)."""
    return run(SUMMARY_SQL)[0], {sec.key: run(sec.sql) for sec in SECTIONS}


def write_report(lake: str | Path | None = None, out: str | Path | None = None) -> Path:
    """Write the HTML report of the lake (default `query.default_lake()`) to `out` (default
    `<state folder>/report.html`); return its path."""
    from lake_assets.core import query

    lake = lake or query.default_lake()
    lake = lake if is_s3(lake) else Path(lake).absolute()
    con = query.connect(lake)
    summary, data = report_data(lambda sql: query.records(con, sql))
    if out is None:
        out = settings.lake_home() / "report.html"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(summary, data, str(lake)), encoding="utf-8")
    return out.absolute()
