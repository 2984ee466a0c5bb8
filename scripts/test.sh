#!/usr/bin/env bash
# Run the whole test suite (unit tests, then the end-to-end tests on the real April 2016
# month, which need ../shared/data or $LAKE_SHARED_DATA). Extra arguments go to pytest:
# `-m "unit and not spark"` is the fast lane (no server, no real data, no JVM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SPARK_LOCAL_IP=127.0.0.1
exec .venv/bin/python -m pytest "$@"
