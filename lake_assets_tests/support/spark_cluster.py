"""A Spark standalone cluster for tests: a master and a worker, each its own JVM, on 127.0.0.1.

    with SparkCluster(tmp_dir, cores=1, memory="1g") as cluster:
        cluster.master_url   # spark://127.0.0.1:PORT, for LakeResource.spark_master

or `launch()` first, other work while the JVMs boot, then `wait_ready()`.

Both run pyspark's own `spark-class` (the Spark of this environment, s3a jars included). The
worker's executors run in its work dir under `tmp_dir`, with the worker's environment: no
PYTHONPATH, no PYSPARK_* variables, so they see only what each application ships. `stop()`
ends the master, the worker and every executor (their process groups); `running()` lists
what is left of them.
`bare_python(dir)` makes an interpreter with nothing but the standard library.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lake_assets_tests.support.s3server import _free_ports


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def bare_python(venv_dir: Path) -> str:
    """An interpreter of this Python version that sees only the standard library (an empty venv)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], check=True)
    return str(Path(venv_dir) / "bin" / "python")


class SparkCluster:
    """A standalone master and one worker of `cores` and `memory`, for the life of a `with` block."""

    def __init__(self, workdir: Path, cores: int = 1, memory: str = "1g"):
        self.workdir = Path(workdir)
        self.cores, self.memory = cores, memory
        self.procs: list[subprocess.Popen] = []
        self.port = self.ui_port = 0

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """This process's environment without Python or Spark settings, plus the daemons' own:
        their JVMs get the JIT options this process gives spark-submit's (`SPARK_SUBMIT_OPTS`)."""
        kept = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith(("PYSPARK_", "SPARK_"))}
        return {**kept, "SPARK_HOME": spark_home(), "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_DIRS": str(self.workdir / "local"), "SPARK_DAEMON_MEMORY": "256m",
                "SPARK_DAEMON_JAVA_OPTS": os.environ.get("SPARK_SUBMIT_OPTS", "")}

    def _launch(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen([os.path.join(spark_home(), "bin", "spark-class"), *args], cwd=self.workdir,
                                env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self) -> "SparkCluster":
        """Launch the master and the worker, and wait until the worker has registered."""
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> "SparkCluster":
        """Start the master and the worker without waiting for them (`wait_ready`): their JVMs
        boot while the caller does other work."""
        (self.workdir / "local").mkdir(parents=True, exist_ok=True)
        self.port, self.ui_port, worker_ui_port = _free_ports(3)
        self._launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                "--port", str(self.port), "--webui-port", str(self.ui_port)])
        self._launch("worker", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                "--webui-port", str(worker_ui_port), "--cores", str(self.cores),
                                "--memory", self.memory, "--work-dir", str(self.workdir / "work"), self.master_url])
        return self

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as response:
            return sum(w["state"] == "ALIVE" for w in json.load(response)["workers"])

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for proc, name in zip(self.procs, ("master", "worker")):
                if proc.poll() is not None:
                    raise RuntimeError(f"Spark {name} exited with {proc.returncode}: see {self.workdir / name}.log")
            try:
                if self.alive_workers():
                    return
            except OSError:
                pass  # the master's UI is not up yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Spark worker registered after {timeout:.0f}s: see {self.workdir}/*.log")
            time.sleep(0.5)

    def stop(self) -> None:
        """The worker first (it stops its executors), then the master; SIGKILL to what is left of
        their process groups."""
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def running(self) -> list[int]:
        """The live processes (daemons, executors, their Python workers) of the cluster's groups."""
        groups = {proc.pid for proc in self.procs}
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _, pgid = stat.read_text().rsplit(")", 1)[1].split()[:3]
            except OSError:
                continue  # ended meanwhile
            if int(pgid) in groups and state != "Z":
                alive.append(int(stat.parent.name))
        return alive

    def __enter__(self) -> "SparkCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # a cluster to try things by hand: prints its master URL, Ctrl-C stops it
    import tempfile

    with SparkCluster(Path(tempfile.mkdtemp(prefix="spark-cluster-"))) as cluster:
        print(cluster.master_url, flush=True)
        try:
            cluster.procs[0].wait()
        except KeyboardInterrupt:
            pass
