#!/usr/bin/env bash
# The main job on a fresh machine (Python 3.11 and Java 17 on PATH): set up .venv, generate
# the default synthetic raw folder into $LAKE_HOME/raw (skipped when it is already there
# with the same seed and scale), build all twelve months of 2016 and the analytics into
# $LAKE_HOME/lake, write the analysts' report. LAKE_HOME defaults to ./.lake; SEED and
# SCALE (default: `lake generate`'s) choose the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LAKE_HOME="${LAKE_HOME:-$PWD/.lake}" SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
raw="$LAKE_HOME/raw" lake="$LAKE_HOME/lake" seed="${SEED:-42}"

if .venv/bin/python - "$raw" "$seed" "${SCALE:-}" <<'EOF'
import json, sys
from lake_assets.core.generate import DEFAULT_SCALE, MONTH_ROWS
raw, seed, scale = sys.argv[1], int(sys.argv[2]), float(sys.argv[3] or DEFAULT_SCALE)
try:
    m = json.load(open(f"{raw}/generation_manifest.json"))
except OSError:
    sys.exit(1)
sys.exit((m["seed"], m["scale"], sorted(m["months"])) != (seed, scale, sorted(MONTH_ROWS)))
EOF
then
  echo "demo: $raw already holds the sample (seed $seed): not generating it again" >&2
else
  .venv/bin/lake generate --out "$raw" --seed "$seed" ${SCALE:+--scale "$SCALE"}
fi
# its runs are recorded in the instance `lake ui` shows (<LAKE_HOME>/dagster)
.venv/bin/lake build --raw "$raw" --lake "$lake"
.venv/bin/lake report --lake "$lake" --out "$LAKE_HOME/report.html"
echo "demo: the lake is in $lake (try: .venv/bin/lake tables --lake $lake), the report is $LAKE_HOME/report.html;" \
  "its runs show in .venv/bin/lake ui"
