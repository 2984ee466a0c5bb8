"""A warm Spark driver for the tests that run `spark-submit` command lines here (test_emr): one
`spark-submit` started once, whose Python runs each submitted application in turn on its JVM,
as a new `spark-submit` of that command line would, without a cold JVM each time.

    with WarmDriver(workdir) as driver:            # its JVM boots while the caller does other work
        done = driver.submit(args, env, cwd)       # a CompletedProcess, as subprocess.run gives
        driver.spark_submit                        # a `spark-submit` that hands its command line to the driver

A command line is spark-submit's: `--master` (the driver's own, local), `--driver-memory` and
`--deploy-mode` (the driver's own: ignored), `--conf k=v`, the application file, its
arguments. Each application runs as `__main__` with its arguments, in its environment and
working directory, importing `lake_assets` and `dagster_pipes` afresh (no module state of an
earlier one); a runtime SQL `--conf` is set for it and put back after, any other must be the
driver's own value (`spark.driver.extraJavaOptions`: the driver JVM's, as started) or the
application is refused. `SparkSession.stop()` leaves the session to the next application.
Applications run one at a time, over a Unix socket in `workdir`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

FRESH_MODULES = ("lake_assets", "dagster_pipes")  # imported afresh by each application


def submit(socket_path: str, args: list[str], env: dict[str, str], cwd: str,
           timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a spark-submit command line on the driver listening at `socket_path`."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(json.dumps({"args": args, "env": env, "cwd": cwd}).encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        reply = json.loads(conn.makefile("rb").read())
    return subprocess.CompletedProcess(args, reply["code"], reply["stdout"], reply["stderr"])


class WarmDriver:
    """The driver process (`start`/`stop`, or a `with` block) and its client (`submit`)."""

    def __init__(self, workdir: Path, conf: dict[str, str], master: str = "local[2]", memory: str = "1g"):
        self.workdir = Path(workdir)
        self.socket = str(self.workdir / "driver.sock")
        self.command = [spark_submit_here(), "--master", master, "--driver-memory", memory,
                        *(a for k, v in conf.items() for a in ("--conf", f"{k}={v}")),
                        __file__, "serve", self.socket, json.dumps(conf)]
        self.proc: subprocess.Popen | None = None

    @property
    def spark_submit(self) -> str:
        """An executable `spark-submit` that runs its command line on this driver."""
        path = self.workdir / "spark-submit"
        if not path.exists():
            forward = " ".join(shlex.quote(a) for a in (sys.executable, __file__, "forward", self.socket))
            path.write_text(f"#!/bin/sh\nexec {forward} \"$0\" \"$@\"\n")
            path.chmod(0o755)
        return str(path)

    def start(self) -> "WarmDriver":
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "driver.log", "wb") as log:
            self.proc = subprocess.Popen(self.command, env={**os.environ, "PYSPARK_PYTHON": sys.executable},
                                         cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def submit(self, args: list[str], env: dict[str, str], cwd: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run a spark-submit command line here (waiting for the driver to be up first)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the warm Spark driver is not up: see {self.workdir / 'driver.log'}")
            time.sleep(0.2)
        return submit(self.socket, args, env, cwd, max(deadline - time.monotonic(), 1))

    def stop(self) -> None:
        """The driver's JVM and its Python (their process group): SIGTERM, then SIGKILL to what is left."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> "WarmDriver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def spark_submit_here() -> str:
    import pyspark

    return os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")


# ---------------------------------------------------------------- in the driver's process


def parse(args: list[str]) -> tuple[str | None, dict[str, str], list[str]]:
    """spark-submit's command line: (master, confs, [application, its arguments])."""
    master, confs, rest = None, {}, iter(args[1:])
    for arg in rest:
        if arg == "--master":
            master = next(rest)
        elif arg in ("--driver-memory", "--deploy-mode"):
            next(rest)
        elif arg == "--conf":
            key, value = next(rest).split("=", 1)
            confs[key] = value
        elif arg.startswith("--"):
            raise ValueError(f"option {arg} is not supported by the warm driver")
        else:
            return master, confs, [arg, *rest]
    raise ValueError("no application on the command line")


def run_application(spark, started: dict[str, str], request: dict) -> tuple[int, str, str]:
    """Run one application on the driver started with the confs `started`: (exit code, its
    stdout, its stderr)."""
    import io
    import runpy
    import traceback

    out, err, code, restore = io.StringIO(), io.StringIO(), 0, {}
    environ, cwd = dict(os.environ), os.getcwd()
    try:
        master, confs, argv = parse(request["args"])
        if master not in (None, spark.sparkContext.master):
            raise ValueError(f"--master {master}: the warm driver's is {spark.sparkContext.master}")
        for key, value in confs.items():
            if spark.conf.isModifiable(key):
                restore[key] = spark.conf.get(key, None)
                spark.conf.set(key, value)
            elif key != "spark.driver.extraJavaOptions" and started.get(key) != value:
                raise ValueError(f"--conf {key}={value}: the warm driver started with "
                                 f"{started.get(key)!r} and cannot change it")
        for name in [m for m in sys.modules if m.split(".")[0] in FRESH_MODULES]:
            del sys.modules[name]
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = argv
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(argv[0], run_name="__main__")
            except SystemExit as exc:
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except ValueError as exc:
        print(f"warm driver: {exc}", file=err)
        code = 1
    except Exception:
        traceback.print_exc(file=err)
        code = 1
    finally:
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        for key, value in restore.items():
            spark.conf.unset(key) if value is None else spark.conf.set(key, value)
        spark.catalog.clearCache()
    return code, out.getvalue(), err.getvalue()


def serve(socket_path: str, started: dict[str, str]) -> None:
    """The driver, started with the confs `started`: one session, then each request's
    application in turn until terminated."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    SparkSession.stop = lambda self: None  # the session serves the next application
    server = socket.socket(socket.AF_UNIX)
    server.bind(socket_path + ".new")
    server.listen()
    os.rename(socket_path + ".new", socket_path)  # up: clients may connect
    while True:
        conn, _ = server.accept()
        with conn:
            code, out, err = run_application(spark, started, json.loads(conn.makefile("rb").read()))
            conn.sendall(json.dumps({"code": code, "stdout": out, "stderr": err}).encode())


def forward(socket_path: str, args: list[str]) -> None:
    """The `spark-submit` of `WarmDriver.spark_submit`: this command line, environment and
    directory to the driver; its output and exit code as this process's."""
    done = submit(socket_path, args, dict(os.environ), os.getcwd())
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    sys.exit(done.returncode)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], json.loads(sys.argv[3]))
    else:
        forward(sys.argv[2], sys.argv[3:])
