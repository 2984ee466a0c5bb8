"""`lake ui`: the Dagster UI and daemon (`dg dev` of the project) on loopback, with a persistent instance.

The webserver listens on a free internal loopback port; the user's port is the guard's
(lake_assets/tools/guard.py), which refuses GraphQL mutations sent by GET and any change from
another origin (the local user is the operator).

The instance (runs, materializations, check results, backfills) lives in the state folder,
`<LAKE_HOME>/dagster`, where `lake build` records its runs too, so it survives restarts and
shows every build. The schedules, sensors and automation run unless `--no-automation`; what
runs is printed once the code location is loaded. `dg dev` runs in its own process group;
Ctrl-C, SIGTERM or SIGHUP stop that whole group (politely first), so no webserver, daemon,
code server or run worker is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lake_assets.core.settings import RAW_DIR, lake_home
from lake_assets.tools.build import UsageError, instance_dir, prepare_instance
from lake_assets.tools.guard import start_local

PROJECT = Path(__file__).resolve().parents[2]  # pyproject.toml's [tool.dg]
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy
GRACE_SECONDS = 30  # for dg dev to stop its services after SIGINT, before SIGTERM/SIGKILL


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STATES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }"""


def instigators(port: int) -> dict[str, str] | None:
    """The schedules and sensors of the UI by their status (RUNNING, STOPPED); None until loaded."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": STATES}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with LOOPBACK.open(request, timeout=5) as response:
            repositories = (json.load(response)["data"]["repositoriesOrError"] or {}).get("nodes") or []
    except (OSError, ValueError, KeyError, TypeError):
        return None
    states = {item["name"]: item[state]["status"] for repo in repositories
              for kind, state in (("schedules", "scheduleState"), ("sensors", "sensorState")) for item in repo[kind]}
    return states or None


def running_line(states: dict[str, str]) -> str:
    """What `lake ui` prints of the schedules and sensors."""
    on = sorted(name for name, status in states.items() if status == "RUNNING")
    off = sorted(set(states) - set(on))
    return (f"lake ui: running: {', '.join(on) or 'nothing'}"
            + (f"; stopped: {', '.join(off)} (switch them on in the UI)" if off else ""))


def ui_command(port: int) -> list[str]:
    """`dg dev` of the project, without its check of component YAML files: the project has none,
    and the check (loading every component type) took 1–2 s of each start."""
    return [sys.executable, "-m", "dagster_dg_cli.cli", "dev", "--target-path", str(PROJECT),
            "--host", "127.0.0.1", "--port", str(port), "--no-check-yaml"]


def ui_env(raw: str | None, lake: str | None, automation: bool = True) -> dict[str, str]:
    """The environment of `dg dev`: the instance, automation on or off, and the folders its runs
    read and write."""
    env = dict(os.environ, DAGSTER_HOME=str(prepare_instance(instance_dir())), LAKE_HOME=str(lake_home()),
               LAKE_AUTOMATION="on" if automation else "off")
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if raw:
        env["LAKE_RAW_DIR"] = str(Path(raw).absolute())
    if lake:
        env["LAKE_DIR"] = str(Path(lake).absolute())
    return env


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the process group; False if no process is left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def _stop_group(pgid: int, wait: float = 5.0) -> None:
    """SIGTERM what is left of the group, then SIGKILL after `wait` seconds."""
    if _signal_group(pgid, signal.SIGTERM):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _signal_group(pgid, 0):
            time.sleep(0.2)
        _signal_group(pgid, signal.SIGKILL)


def serve(port: int = 3000, raw: str | None = None, lake: str | None = None, out=sys.stderr,
          automation: bool = True) -> int:
    """Run `dg dev` on 127.0.0.1:`port` until it exits or this process is told to stop."""
    if raw and not Path(raw).is_dir():
        raise UsageError(f"raw folder {raw} does not exist")
    if not _port_free(port):
        raise UsageError(f"port {port} on 127.0.0.1 is in use: choose another with --port")
    env = ui_env(raw, lake, automation)
    raw_dir = str(Path(raw).absolute()) if raw else RAW_DIR.value() or str(lake_home() / "raw")
    if not Path(raw_dir).is_dir():
        print(f"lake ui: note: no raw folder at {raw_dir}; runs will fail until there is one (--raw DIR)", file=out)

    internal = _free_port()
    guard = start_local(port, internal)
    stop_requested: list[float] = []
    child: subprocess.Popen | None = None

    def on_signal(signum, _frame):
        if not stop_requested:
            stop_requested.append(time.monotonic())
            if child is not None:
                _signal_group(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends dg dev

    # Handlers before the child starts: it then inherits default dispositions (an ignored
    # SIGINT of a background job would be inherited and make dg dev unstoppable).
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        child = subprocess.Popen(ui_command(internal), env=env, process_group=0)
        if stop_requested:
            _signal_group(child.pid, signal.SIGINT)
        announced = False
        while child.poll() is None:
            if not announced and not stop_requested and (states := instigators(internal)):
                announced = True
                print(f"lake ui: Dagster UI on http://127.0.0.1:{port}  (instance {env['DAGSTER_HOME']}; "
                      "Ctrl-C to stop)", file=out, flush=True)
                print(running_line(states), file=out, flush=True)
            if stop_requested and time.monotonic() - stop_requested[0] > GRACE_SECONDS:
                _stop_group(child.pid)
            time.sleep(0.5)
        _stop_group(child.pid)  # anything dg dev left behind in its group
    finally:
        if child is not None and child.poll() is None:  # an error here: leave nothing running
            _stop_group(child.pid, wait=1.0)
            child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        guard.shutdown()
        guard.server_close()
    if stop_requested:
        print("lake ui: stopped", file=out)
        return 0
    return child.returncode
