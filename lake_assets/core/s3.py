"""S3 for the lake and the raw landing zone: settings, a filesystem for Python, s3a for Spark.

Settings come from the environment: `LAKE_S3_ENDPOINT` (only for a non-AWS server, e.g.
`http://127.0.0.1:8333`: path-style requests, plain HTTP if the URL says so) and the AWS
credentials by the standard chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
`AWS_SESSION_TOKEN`, then the profile of `~/.aws`, then the instance role). `s3://` and
`s3a://` name the same objects. No Dagster here.
"""

from __future__ import annotations

import io
import re
from fnmatch import fnmatch
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

from lake_assets.core import settings

SCHEMES = ("s3://", "s3a://")


def is_s3(path) -> bool:
    return str(path).startswith(SCHEMES)


class S3Error(OSError):
    """S3 refused or failed a request: one line naming the object and what to check."""


def _explain(uri: str, exc: OSError) -> S3Error:
    text = " ".join(str(exc).split())
    server = settings.S3_ENDPOINT.value() or "AWS"
    if re.search(r"HTTP status 403|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ACCESS_DENIED", text):
        detail = re.search(r"operation: (.*)", text)
        return S3Error(f"{uri}: access denied by S3 ({server}): {detail.group(1) if detail else text} "
                       "(check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS profile)")
    if re.search(r"NoSuchBucket|HTTP status 404", text):
        return S3Error(f"{uri}: no such bucket on S3 ({server})")
    return S3Error(f"{uri}: S3 request failed ({server}): {text}")


def split(uri: str) -> str:
    """`s3://bucket/key` -> `bucket/key` (the form pyarrow's S3 filesystem takes)."""
    parsed = urlparse(uri)
    return f"{parsed.netloc}{parsed.path}".rstrip("/")


_FILESYSTEMS: dict = {}


def filesystem(uri: str | None = None):
    """pyarrow's S3 filesystem with the settings of the environment (one per bucket and process).

    The region is `$AWS_REGION`/`$AWS_DEFAULT_REGION`, else (on AWS) the bucket's own."""
    from pyarrow import fs

    endpoint = settings.S3_ENDPOINT.value()
    region = settings.aws_region()
    bucket = urlparse(uri).netloc if uri and not endpoint and not region else None
    if bucket not in _FILESYSTEMS:
        if bucket:
            region = call(uri, fs.resolve_s3_region, bucket)
        kwargs = {"region": region or "us-east-1"}
        if endpoint:
            url = urlparse(endpoint)
            kwargs.update(endpoint_override=url.netloc, scheme=url.scheme or "https", force_virtual_addressing=False)
        _FILESYSTEMS[bucket] = fs.S3FileSystem(**kwargs)
    return _FILESYSTEMS[bucket]


def reset() -> None:
    """Forget the filesystems, so the next use reads the environment again (tests)."""
    _FILESYSTEMS.clear()


def call(uri: str, fn, *args):
    """Run a pyarrow filesystem call on `uri`; an S3 failure becomes a one-line S3Error."""
    try:
        return fn(*args)
    except OSError as exc:
        if isinstance(exc, (S3Error, FileNotFoundError)):
            raise
        raise _explain(uri, exc) from None


class S3Path:
    """The part of `pathlib.Path` the raw readers use, for an `s3://bucket/key` object or prefix."""

    def __init__(self, uri: str):
        self.uri = str(uri).rstrip("/")

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"S3Path({self.uri!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, S3Path) and other.uri == self.uri

    def __lt__(self, other) -> bool:
        return self.uri < other.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    def __truediv__(self, name: str) -> "S3Path":
        return S3Path(f"{self.uri}/{name}")

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0] if "." in self.name else self.name

    def resolve(self) -> "S3Path":
        return self

    def _info(self):
        return call(self.uri, filesystem(self.uri).get_file_info, split(self.uri))

    def exists(self) -> bool:
        from pyarrow import fs

        return self._info().type != fs.FileType.NotFound

    def is_dir(self) -> bool:
        from pyarrow import fs

        return self._info().type == fs.FileType.Directory

    def is_file(self) -> bool:
        from pyarrow import fs

        return self._info().type == fs.FileType.File

    def stat(self):
        """`st_size`, `st_mtime_ns` (as `os.stat` names them) of an object."""
        info = self._info()
        if info.size is None:
            raise FileNotFoundError(self.uri)
        return SimpleNamespace(st_size=info.size, st_mtime_ns=info.mtime_ns)

    def iterdir(self):
        from pyarrow import fs

        selector = fs.FileSelector(split(self.uri), allow_not_found=True)
        scheme = self.uri.split("://", 1)[0]
        for info in call(self.uri, filesystem(self.uri).get_file_info, selector):
            yield S3Path(f"{scheme}://{info.path}")

    def glob(self, pattern: str):
        """One level (`*.csv`) or two (`sub/*.csv`, `*/*.csv`) of shell patterns."""
        head, _, rest = pattern.partition("/")
        for child in self.iterdir():
            if fnmatch(child.name, head):
                if not rest:
                    yield child
                elif child.is_dir():
                    yield from child.glob(rest)

    def open(self, mode: str = "r", encoding: str | None = None, errors: str | None = None):
        stream = call(self.uri, filesystem(self.uri).open_input_file, split(self.uri))
        return stream if "b" in mode else io.TextIOWrapper(stream, encoding=encoding, errors=errors)

    def read_text(self, encoding: str | None = None) -> str:
        with self.open("rb") as f:
            return f.read().decode(encoding or "utf-8")


def object_stamps(path: S3Path) -> dict[str, str]:
    """`size:ETag` of the object at `path`, or of each object directly under it, by name: one
    listing. The ETag changes with the content, also when a re-upload keeps the size."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = split(path.uri).partition("/")
    client = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT.value())
    stamps = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(key):]  # "" for the object itself, "/name" for one directly under it
                if rest == "" or (rest.startswith("/") and rest.count("/") == 1):
                    stamps[rest[1:] or path.name] = f"{obj['Size']}:{obj['ETag'].strip(chr(34))}"
    except (BotoCoreError, ClientError) as exc:
        raise _explain(path.uri, OSError(str(exc))) from None
    return stamps


def download(src: S3Path, dest: Path) -> Path:
    """Copy an S3 object to a local file (for readers that take only local files)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as f, open(dest, "wb") as out:
        while chunk := f.read(8 << 20):
            out.write(chunk)
    return dest


def as_path(path) -> Path | S3Path:
    """A local path as `pathlib.Path`, an `s3://`/`s3a://` URI as `S3Path`."""
    if isinstance(path, (Path, S3Path)):
        return path
    return S3Path(path) if is_s3(path) else Path(path)


def spark_s3a_conf() -> dict[str, str]:
    """Hadoop settings (without the `spark.hadoop.` prefix) for s3a from the environment.

    `s3://` goes through s3a too, as on EMR it goes through EMRFS. Keys given in the
    environment are used as they are; otherwise the AWS SDK's default chain applies.
    """
    conf = {
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.aws.credentials.provider": ",".join([
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        ]),
        # Upload buffers in memory: the disk buffer needs Hadoop's checksummed local
        # filesystem, which the local settings replace (no .crc files).
        "fs.s3a.fast.upload.buffer": "bytebuffer",
        # Tasks commit straight into the output folder: one copy less per file on S3.
        "mapreduce.fileoutputcommitter.algorithm.version": "2",
        # Fewer requests: no deletes of directory markers after each write, ranged reads of parquet.
        "fs.s3a.directory.marker.retention": "keep",
        "fs.s3a.experimental.input.fadvise": "random",
        "fs.s3a.attempts.maximum": "3",
        "fs.s3a.retry.limit": "3",
    }
    for key, value in settings.aws_credentials().items():
        conf[f"fs.s3a.{key.replace('_', '.')}"] = value
    endpoint = settings.S3_ENDPOINT.value()
    if endpoint:
        conf.update({
            "fs.s3a.endpoint": endpoint,
            "fs.s3a.path.style.access": "true",
            "fs.s3a.connection.ssl.enabled": str(urlparse(endpoint).scheme == "https").lower(),
        })
    return conf


def configure_spark(spark) -> None:
    """Apply the environment's S3 settings to a Spark session, local or on a standalone cluster
    (its executors get them with each job); EMR brings its own."""
    if not spark.sparkContext.master.startswith(("local", "spark://")):
        return
    hadoop = spark._jsc.hadoopConfiguration()
    for key, value in spark_s3a_conf().items():
        hadoop.set(key, value)
    try:
        spark._jvm.java.lang.Class.forName("org.apache.hadoop.fs.s3a.S3AFileSystem")
    except Exception:
        raise S3Error("Spark has no s3a support: hadoop-aws and the AWS SDK bundle are missing "
                      "from pyspark's jars/ (run bash scripts/setup.sh)") from None
