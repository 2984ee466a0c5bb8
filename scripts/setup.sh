#!/usr/bin/env bash
# Make the project's environment: .venv with the package and its test tools.
# Needs Python 3.11 (python3) and Java 17 on PATH; installs Debian's readstat, postgresql and chromium when apt is there.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v java >/dev/null || { echo "setup: Java 17 is needed (java not on PATH)" >&2; exit 1; }
if ! command -v readstat >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian's readstat (writes .sas7bdat test files) …"
  (apt-get update -qq && apt-get install -y -qq readstat >/dev/null) || echo "setup: readstat not installed; .sas7bdat round-trip tests will skip" >&2
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian's postgresql (the Dagster instance test runs a server on loopback) …"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql openssl >/dev/null
fi
if ! command -v chromedriver >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian's chromium and chromedriver (the browser test of the Dagster UI) …"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project into .venv (first time: ~2 min) …"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

# JVM artifacts, by Maven coordinates from Maven Central: Iceberg's Spark runtime (the lake's
# table format) and its AWS bundle of the same version (AWS SDK v2: the Glue catalog and Iceberg's
# S3 client), the SQLite JDBC driver (the local catalog), hadoop-aws with the AWS SDK bundle
# it was built against (s3a://; Spark 3.5 ships Hadoop 3.3.4). Downloaded once into a cache
# ($LAKE_JAR_CACHE, default ~/.cache/lake_assets/jars), checked against Maven's SHA-1, then
# copied into pyspark's jars/ so every local JVM (session, spark-submit, standalone cluster) has them.
.venv/bin/python - "${LAKE_JAR_CACHE:-$HOME/.cache/lake_assets/jars}" <<'PY'
import hashlib, os, shutil, sys, urllib.request
from pathlib import Path
import pyspark

COORDINATES = [
    "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.1",
    "org.apache.iceberg:iceberg-aws-bundle:1.10.1",
    "org.xerial:sqlite-jdbc:3.50.3.0",
    "org.apache.hadoop:hadoop-aws:3.3.4",
    "com.amazonaws:aws-java-sdk-bundle:1.12.262",
]
REPLACED = ["hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar"]  # an older setup's s3a pair
cache, jars = Path(sys.argv[1]), Path(pyspark.__file__).parent / "jars"
cache.mkdir(parents=True, exist_ok=True)
for coordinate in COORDINATES:
    group, artifact, version = coordinate.split(":")
    name = f"{artifact}-{version}.jar"
    if not (cache / name).is_file():
        url = f"https://repo1.maven.org/maven2/{group.replace('.', '/')}/{artifact}/{version}/{name}"
        print(f"setup: downloading {coordinate} from Maven Central …", file=sys.stderr)
        part = cache / f"{name}.part"
        urllib.request.urlretrieve(url, part)
        expected = urllib.request.urlopen(f"{url}.sha1").read().decode().split()[0]
        if hashlib.sha1(part.read_bytes()).hexdigest() != expected:
            part.unlink()
            sys.exit(f"setup: {name} does not match Maven Central's SHA-1: download it again")
        part.rename(cache / name)
    if not (jars / name).is_file():
        shutil.copyfile(cache / name, jars / name)
for name in REPLACED:
    (jars / name).unlink(missing_ok=True)
PY

# The Spark driver JVM's class-data-sharing archive (JDK 17 AppCDS), made once for this Java and
# these jars from a session that runs every build on a small generated month, and shared by every
# local session after (lake_assets/orchestration/spark.py names it by their hash); other checkouts'
# stale archives are removed.
.venv/bin/python -c "from lake_assets.orchestration.spark import make_class_archive; make_class_archive()" \
  || echo "setup: no class archive made; Spark sessions start without it (slower, same results)" >&2
