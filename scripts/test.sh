#!/usr/bin/env bash
# Run the whole test suite (unit tests, then the end-to-end tests on the real April 2016
# month, which need ../shared/data or $LAKE_SHARED_DATA). Extra arguments go to pytest:
# `-m "unit and not spark"` is the fast lane (no server, no real data, no JVM). Two workers
# (pytest-xdist): the tests of a lake or a module fixture built once stay on one worker
# (conftest.py's xdist groups); `-n 0` runs them in this one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SPARK_LOCAL_IP=127.0.0.1
exec .venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
