"""Build processes for the tests of concurrent runs: each a Python process with its own Spark JVM
that commits `dim_country` and a month of the fact (the builds of `lake_assets.core.builds`, no
Dagster run), as a run's process would.

    with Workers(env) as workers:
        run = workers.start(raw, lake, "2016-04", cache)   # in a process not busy with a run
        code, out, err = run.finish()                      # 0 committed, 3 BuildError (one line)

A process serves one run at a time and the next when it is done, its catalog loaded afresh for
each run as a new process would load it: its JVM starts and warms once, not once per run (a
cold run costs about 20 s of CPU, a warm one 2-3 s). Each run gets the lake settings (LAKE_*,
AWS_*) of the test at `start`. A run started with `hold=table` stops before publishing that
table (its files written), says so (`run.wait_held()`) and waits to be killed: `run.kill()` ends
the process and starts its replacement, whose JVM boots while the test goes on.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

END = "\x1eend"  # after each run, on stdout (with the exit code) and on stderr
SETTINGS = ("LAKE_", "AWS_")


def _serve() -> None:
    """The process: one JSON run a line on stdin, its outcome on stdout and stderr."""
    import time

    from lake_assets.core import s3 as lake_s3
    from lake_assets.core import storage
    from lake_assets.core.builds import BuildError, Inputs, run_build, run_months
    from lake_assets.orchestration.spark import get_spark

    spark = get_spark("local[1]", "1g")
    publish = storage.Lake.publish

    def held(lake, staged):
        if staged.table == hold:
            print("held", flush=True)
            while True:
                time.sleep(60)
        return publish(lake, staged)

    storage.Lake.publish = held
    print(END, file=sys.stderr, flush=True)  # started: what it printed so far is no run's
    print(f"{END} 0", flush=True)
    for line in sys.stdin:
        run = json.loads(line)
        hold = run["hold"]
        for key in [k for k in os.environ if k.startswith(SETTINGS)]:
            del os.environ[key]
        os.environ.update(run["env"])
        lake_s3.reset()
        storage._ACTIVE.clear()  # this run loads the catalog afresh and remembers no earlier run's rows
        storage._PUBLISHED.clear()
        code = 0
        try:
            if lake_s3.is_s3(run["lake"]):
                lake_s3.configure_spark(spark)
            lake = storage.Lake(spark, run["lake"], run_id=run["run_id"])
            inputs = Inputs(spark, lake, run["raw"], run["cache"], log=lambda line: print(line, flush=True))
            run_build("dim_country", inputs)
            for _, outcomes in run_months("immigration", inputs, [run["month"]]):
                assert not any(o.failed_blocking for o in outcomes)
            print("committed", flush=True)
        except BuildError as exc:
            print(f"lake: {exc}", file=sys.stderr, flush=True)
            code = 3
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        print(END, file=sys.stderr, flush=True)
        print(f"{END} {code}", flush=True)


class Run:
    """A run sent to a build process: `finish()` waits for its (code, stdout, stderr)."""

    def __init__(self, pool: "Workers", worker: "Worker", run_id: str):
        self.pool, self.worker, self.run_id = pool, worker, run_id

    @property
    def alive(self) -> bool:
        return self.worker.proc.poll() is None

    def wait_held(self, timeout: float = 600) -> bool:
        """Whether a run started with `hold=` reached its hold (its files written) within `timeout`."""
        return self.worker.held.wait(timeout)

    def finish(self, timeout: float = 900) -> tuple[int, str, str]:
        result = self.worker.outcome(timeout)
        self.worker.busy = False
        return result

    def kill(self) -> None:
        """SIGKILL the process and its JVM; a new process takes its place."""
        os.killpg(self.worker.proc.pid, signal.SIGKILL)
        self.worker.proc.wait()
        self.pool.replace(self.worker)


class Worker:
    """One build process, with a reader of each of its output streams."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", __name__], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.busy = False
        self.held = threading.Event()  # set when a run holds before publishing (its "held" line)
        self.outputs = {name: queue.Queue() for name in ("stdout", "stderr")}
        for name, done in self.outputs.items():
            threading.Thread(target=self._read, args=(getattr(self.proc, name), done), daemon=True).start()

    def _read(self, stream, done: queue.Queue) -> None:
        """Put each run's lines (up to its END) on `done`, and what is left when the stream closes;
        the lines before the first END (the process starting) are no run's."""
        lines: list[str] = []
        started = False
        for line in stream:
            if line == "held\n":
                self.held.set()
            if line.startswith(END):
                if started:
                    done.put(lines + [line])
                lines, started = [], True
            else:
                lines.append(line)
        done.put(lines)

    def send(self, run: dict) -> None:
        self.busy = True
        self.proc.stdin.write(json.dumps(run) + "\n")
        self.proc.stdin.flush()

    def outcome(self, timeout: float) -> tuple[int, str, str]:
        out, err = (self.outputs[name].get(timeout=timeout) for name in ("stdout", "stderr"))
        end = out[-1] if out and out[-1].startswith(END) else None
        code = int(end.split()[1]) if end else (self.proc.wait() or -1)  # ended mid-run: never a success
        return code, "".join(out[:-1] if end else out), "".join(err[:-1] if err and err[-1].startswith(END) else err)

    def stop(self) -> None:
        """Wait for the process to end (its stdin closed: `close`), killing it after 30 s."""
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self) -> None:
        """Ask the process to end once its run is done (it reads no more runs)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()


class Workers:
    """The build processes, started as runs need them (with `env` added to this process's)."""

    def __init__(self, env: dict[str, str], processes: int = 2):
        self.env = env
        self.workers = [self._spawn() for _ in range(processes)]  # their JVMs start now

    def _spawn(self) -> Worker:
        return Worker({**os.environ, **self.env})

    def replace(self, worker: Worker) -> None:
        """A new process in place of `worker` (killed): its JVM starts now."""
        self.workers[self.workers.index(worker)] = self._spawn()

    def start(self, raw: str, lake: str, month: str, cache: Path, hold: str | None = None) -> Run:
        """Send a run committing `month` (its run id: `.run_id`) to a process not busy with another."""
        worker = next((w for w in self.workers if not w.busy and w.proc.poll() is None), None)
        if worker is None:
            worker = self._spawn()
            self.workers.append(worker)
        settings = {k: v for k, v in os.environ.items() if k.startswith(SETTINGS)}
        run_id = uuid.uuid4().hex
        worker.send({"raw": raw, "lake": lake, "month": month, "run_id": run_id, "cache": str(cache),
                     "env": settings, "hold": hold})
        return Run(self, worker, run_id)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        for worker in self.workers:  # all end at once
            worker.close()
        for worker in self.workers:
            worker.stop()


if __name__ == "__main__":
    _serve()
