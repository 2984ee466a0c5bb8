"""The Dagster UI in a real browser: Debian's Chromium driven by Selenium, against one `lake ui` on
loopback over the test run's sample lake, started on the fresh LAKE_HOME its `lake build` recorded
into. First what the fresh UI runs and lists; then a two-month backfill launched from the fact's
partitions view and, while it runs, lineage with its groups, the column schema and the automation
page; then each month with its row count. One Chromium for both; screenshots go to
$LAKE_BROWSER_ARTIFACTS (default `<tmp>/browser0`)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from lake_assets_tests.support.sample_lake import MONTHS as SAMPLE_MONTHS
from lake_assets_tests.tools.test_ui import _free_port, _gql, _session_processes, _wait_ready

pytestmark = pytest.mark.slow

MONTHS = ["2016-03-01", "2016-04-01"]  # two of the sample lake's
BACKFILL_SECONDS = 900  # one Spark run for both months; minutes on a busy 2-core machine
AUTOMATIONS = ["daily_refresh_schedule", "weekly_maintenance_schedule", "raw_i94_sensor", "automation_sensor",
               "failure_email_sensor", "check_warning_sensor"]
SWITCH = """let row = [...document.querySelectorAll('body *')].find(
    e => e.children.length === 0 && e.textContent.trim() === arguments[0]);
while (row && row.querySelectorAll('input[type=checkbox]').length < 2) row = row.parentElement;
const boxes = row ? row.querySelectorAll('input[type=checkbox]') : [];
if (boxes.length != 2) return null;  // past the row: its switch is not shown yet
return boxes[1].checked ? 'on' : 'off';"""  # the state of an automation's switch, null until shown
BUILD_JOBS = ["dimensions_job", "immigration_job", "analytics_job"]
ANALYTICS = ["metro_arrivals_monthly", "tourism_by_season", "arrivals_temperature_correlation"]


def ui_env(home: Path, **extra: str) -> dict[str, str]:
    """LAKE_HOME `home`, local Spark on two cores; Dagster's freshness daemon every 5 s (not 30)."""
    return dict(os.environ, LAKE_HOME=str(home), LAKE_ENV="local", LAKE_SPARK_MASTER="local[2]",
                LAKE_SPARK_DRIVER_MEMORY=os.getenv("LAKE_SPARK_DRIVER_MEMORY", "2g"),
                FRESHNESS_DAEMON_INTERVAL_SECONDS="5", **extra)


@contextmanager
def lake_ui(raw: Path, lake: Path, env: dict[str, str], log_path: Path):
    """`lake ui` over the raw and lake folders, ready: its port. Killed at the end with all it
    started (its graceful stop, seconds of each process shutting down, is test_ui's subject)."""
    port = _free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lake_assets.tools.cli", "ui", "--port", str(port), "--raw", str(raw),
             "--lake", str(lake)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(port, proc, log_path)
            _gql(port, "mutation { setNuxSeen }")  # no "Join the Dagster community" dialog over the pages
            yield port
        finally:
            for pid in _session_processes(proc.pid):  # the UI, its daemon, code servers and runs
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


@pytest.fixture(scope="module")
def ui_after_a_build(sample, tmp_path_factory):
    """`lake ui` over the test run's sample lake, on the LAKE_HOME its `lake build` recorded into
    and nothing else did (support/sample_lake.py), with what it runs by default: (port, log, lake).
    The module's one UI: its first test sees it fresh."""
    env = ui_env(sample.home)
    env.pop("LAKE_AUTOMATION", None)
    env.pop("DAGSTER_HOME", None)
    log_path = tmp_path_factory.mktemp("ui") / "ui.log"
    with lake_ui(sample.raw, sample.lake, env, log_path) as port:
        yield port, log_path, sample.lake


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Headless Chromium, one for the module's tests; its screenshots go to `.artifacts`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server",
                     "--window-size=1400,1300"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.artifacts = Path(os.getenv("LAKE_BROWSER_ARTIFACTS") or tmp_path_factory.mktemp("browser"))
    driver.artifacts.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium, request):
    """The module's Chromium for one test; its last screen is saved as `<test name>.png`."""
    try:
        yield chromium
    finally:
        chromium.save_screenshot(str(chromium.artifacts / f"{request.node.name}.png"))
        print(f"browser screenshots: {chromium.artifacts}")  # shown by pytest when the test fails


def _stop_sensor(port: int, name: str) -> None:
    """Stop a sensor of the UI, as its switch on the automation page does."""
    sensors = _gql(port, "{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { name id } } } } }")
    found = [s["id"] for repo in sensors["repositoriesOrError"]["nodes"] for s in repo["sensors"] if s["name"] == name]
    stopped = _gql(port, "mutation($id: String) { stopSensor(id: $id) { __typename } }", {"id": found[0]})
    assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult", stopped


def _newest_materializations(port: int) -> dict[str, str]:
    """The run of each month's newest materialization of the fact: {partition: run id}."""
    events = _gql(port, """query($months: [String!]) { assetNodeOrError(assetKey: {path: ["fact_immigration"]}) {
        ... on AssetNode { assetMaterializations(partitions: $months) { partition runId timestamp } } } }""",
                  {"months": MONTHS})["assetNodeOrError"]["assetMaterializations"]
    return {e["partition"]: e["runId"] for e in sorted(events, key=lambda e: int(e["timestamp"]))}


def _month_rows(lake: Path) -> dict[str, int]:
    from lake_assets.core import query

    rows = query.records(query.connect(lake, only={"fact_immigration"}),
                         "select i94mon, count(*) as n from fact_immigration group by i94mon")
    return {f"2016-{r['i94mon']:02d}-01": r["n"] for r in rows}


def test_browser_a_fresh_lake_ui_runs_its_automation_and_lists_the_build_before_it(ui_after_a_build, browser):
    """`lake build` then `lake ui` on a fresh LAKE_HOME: the schedules and sensors running (nothing
    to switch on), the build's runs in the runs list, and the analytics' freshness status set."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    port, log_path, _ = ui_after_a_build
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # printed once the code location answers
    while "lake ui: running:" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(1)
    assert "lake ui: running: automation_sensor, check_warning_sensor, daily_refresh_schedule" in log_path.read_text()

    def see(text: str, timeout: float = 60) -> None:
        WebDriverWait(browser, timeout).until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), text))

    browser.get(f"{url}/automation")
    for name in AUTOMATIONS:  # its row: the select box on the left, the running switch on the right
        see(name)
        # While the rows load, the walk up from the name can meet two rows' select boxes: read until
        # the switch says "on" (an automation that is off never does: the wait fails)
        WebDriverWait(browser, 60).until(lambda b, name=name: b.execute_script(SWITCH, name) == "on",
                                         f"{name} is not running")
    browser.save_screenshot(str(browser.artifacts / "automation_running.png"))

    browser.get(f"{url}/runs")
    for job in BUILD_JOBS:
        see(job)
    browser.save_screenshot(str(browser.artifacts / "runs_of_the_build.png"))

    deadline = time.monotonic() + 120  # the freshness daemon evaluates every 5 s (ui_env)
    while time.monotonic() < deadline:
        nodes = _gql(port, "{ assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus } } }")
        status = {n["assetKey"]["path"][-1]: (n["freshnessStatusInfo"] or {}).get("freshnessStatus")
                  for n in nodes["assetNodes"]}
        if all(status[a] == "HEALTHY" for a in ANALYTICS):
            break
        time.sleep(1)
    assert all(status[a] == "HEALTHY" for a in ANALYTICS), status
    browser.get(f"{url}/assets/{ANALYTICS[0]}")
    see("Freshness")
    browser.save_screenshot(str(browser.artifacts / "analytics_freshness.png"))


def test_browser_lineage_backfill_of_two_months_schema_and_automation(ui_after_a_build, browser):
    """In the module's UI, after its build of both months: the backfill builds them again (the
    lineage, schema and automation pages are checked while it runs), each month's newest
    materialization is the backfill's, with its row count."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from lake_assets.core.tables import TABLES
    from lake_assets.defs.lake import defs

    port, _, lake = ui_after_a_build
    url = f"http://127.0.0.1:{port}"
    wait = WebDriverWait(browser, 60)
    started = time.monotonic()

    def shot(name: str) -> None:
        browser.save_screenshot(str(browser.artifacts / f"{name}.png"))

    def click(xpath: str) -> None:
        wait.until(EC.element_to_be_clickable((By.XPATH, xpath))).click()

    def see(text: str, timeout: float = 60) -> None:
        WebDriverWait(browser, timeout).until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), text))

    # The fact's partitions view: Materialize…, two months, Launch backfill, as a person would; with
    # automation_sensor stopped, so the rebuilt months start no analytics run the test would cut short.
    _stop_sensor(port, "automation_sensor")
    built = _newest_materializations(port)
    browser.get(f"{url}/assets/fact_immigration?view=partitions")
    click("//button[normalize-space()='Materialize…']")
    click("//*[@role='dialog']//button[normalize-space()='Confirm']")  # its rejects come with it
    months = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "[role=dialog] input[placeholder^='ex:']")))
    months.send_keys(f"[{MONTHS[0]}...{MONTHS[1]}]", Keys.TAB)
    see("2 partitions")
    shot("backfill_dialog")
    click("//*[@role='dialog']//button[normalize-space()='Launch backfill']")
    see("Created backfill")
    click("//a[normalize-space()='View']")
    status = "//*[normalize-space()='Status']/following-sibling::*//*[@data-tooltip]"
    wait.until(EC.presence_of_element_located((By.XPATH, status)))
    backfill = browser.current_url  # its page, back to once the pages below are seen

    # While the daemon runs it: the lineage, the groups in the graph expanded to their assets;
    # every asset under its group in the sidebar.
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    browser.get(f"{url}/asset-groups")
    for group in set(groups.values()):
        wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, f"[data-tooltip='{group}']")))
    background = browser.find_element(By.CSS_SELECTOR, "[data-tooltip='dimensions']")
    ActionChains(browser).move_to_element_with_offset(background, 0, 200).context_click().perform()
    click("//*[@role='menuitem'][contains(., 'Expand all groups')]")
    wait.until(EC.visibility_of_element_located((By.XPATH, "//*[local-name()='foreignObject']//*[text()='dim_city']")))
    for group in sorted(set(groups.values())):
        click(f"//div[@data-index][.//*[@title='{group}']]//*[@aria-label='arrow_drop_down']")
    see("raw_temperatures")
    shot("lineage")
    shown, current = {}, None
    for row in browser.find_elements(By.CSS_SELECTOR, "div[data-index] [title]"):
        name = row.get_attribute("title")
        if name in groups.values():
            current = name
        else:
            shown[name] = current
    assert shown == groups

    # The overview: the column schema from the definition, every column with its type.
    browser.get(f"{url}/assets/fact_immigration")
    see("Column name")
    shot("overview")
    body = browser.find_element(By.TAG_NAME, "body").text
    for c in TABLES["fact_immigration"].columns:  # a person-level column tagged so under its name
        tag = "person-level\n" if c.personal else ""
        assert re.search(rf"^{c.name}\n{tag}{re.escape(c.type)}\n{re.escape(c.description)}$", body, re.MULTILINE), c.name

    # Automation: the schedule and the sensors.
    browser.get(f"{url}/automation")
    for name in AUTOMATIONS:
        see(name)
    shot("automation")

    # The backfill succeeded; each month's newest materialization is one of its runs.
    browser.get(backfill)
    WebDriverWait(browser, BACKFILL_SECONDS).until(
        lambda b: b.find_element(By.XPATH, status).text in ("Succeeded", "Failed", "Canceled"))
    shot("backfill")
    assert browser.find_element(By.XPATH, status).text == "Succeeded"
    backfilled = _newest_materializations(port)
    assert set(backfilled) == set(MONTHS) and not set(backfilled.values()) & set(built.values())
    for run_id in backfilled.values():
        tags = _gql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key } } } }",
                    {"id": run_id})["runOrError"]["tags"]
        assert "dagster/backfill" in {t["key"] for t in tags}

    # Each month materialized, with its row count in the materialization metadata.
    rows = _month_rows(lake)
    browser.get(f"{url}/assets/fact_immigration?view=partitions")
    see(f"Materialized ({len(SAMPLE_MONTHS)})")  # every month of the lake, the two backfilled among them
    count = "//tr[td[normalize-space()='dagster/row_count' or normalize-space()='rows']]/td[2]"
    for month in MONTHS:
        click(f"//*[normalize-space()='{month}']")
        see(f"{month}\nMaterialized")
        assert rows[month] > 0
        wait.until(lambda b, month=month: b.find_element(By.XPATH, count).text.replace(",", "") == str(rows[month]),
                   f"{month}: the UI does not show its {rows[month]} rows")
        shot(f"partition_{month}")
    print(f"browser test: {time.monotonic() - started:.0f}s in the browser")
