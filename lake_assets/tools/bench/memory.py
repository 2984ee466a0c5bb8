"""The peak resident memory of this process and its descendants (the JVM among them)."""

import os
import threading
from pathlib import Path


class PeakMemory(threading.Thread):
    """Samples the resident memory of this process and all its descendants (the JVM is
    one) every `interval` seconds from /proc; `peak` is the largest sum seen."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peak = interval, 0
        self._done = threading.Event()

    @staticmethod
    def tree_rss(root: int) -> int:
        total, frontier, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
        while frontier:
            pid = frontier.pop()
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                for task in os.listdir(f"/proc/{pid}/task"):
                    frontier += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except (OSError, ValueError):
                continue
        return total

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.tree_rss(os.getpid()))
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


# ---------------------------------------------------------------- the DuckDB reference
