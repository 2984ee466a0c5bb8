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

# s3a:// for local Spark needs hadoop-aws and the AWS SDK bundle, which the pyspark wheel lacks.
# Maven is out of reach, so they come from AWS's own PyPI source package sagemaker-pyspark
# (Apache-2.0), copied once into pyspark's jars/ (so spark-submit has them too).
jars=$(.venv/bin/python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
if [ ! -f "$jars/hadoop-aws-3.3.1.jar" ] || [ ! -f "$jars/aws-java-sdk-bundle-1.11.901.jar" ]; then
  echo "setup: adding the s3a jars to pyspark (hadoop-aws 3.3.1, aws-java-sdk-bundle 1.11.901) …"
  tmp=$(mktemp -d)
  .venv/bin/python -m pip download -q --no-deps -d "$tmp" sagemaker-pyspark==1.4.5
  tar xzf "$tmp"/sagemaker_pyspark-1.4.5.tar.gz -C "$tmp" \
    sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar
  cp "$tmp"/sagemaker_pyspark-1.4.5/deps/jars/*.jar "$jars/"
  rm -rf "$tmp"
fi
