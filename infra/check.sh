#!/usr/bin/env bash
# CI checks of the CloudFormation templates in infra/cfn/: cfn-lint (no errors, no warnings)
# and checkov (no failed check; each skip names its reason in the template's Metadata).
# Both live in their own venv, .venv-infra, so their dependencies never meet Dagster's.
set -euo pipefail
cd "$(dirname "$0")/.."
CFN_LINT=1.58.0
CHECKOV=3.3.30
stamp=.venv-infra/.installed-cfn-lint-$CFN_LINT-checkov-$CHECKOV
if [ ! -f "$stamp" ]; then
  echo "infra: installing cfn-lint $CFN_LINT and checkov $CHECKOV into .venv-infra (first time: ~1 min) …"
  python3 -m venv .venv-infra
  .venv-infra/bin/python -m pip install -q "cfn-lint==$CFN_LINT" "checkov==$CHECKOV"
  rm -f .venv-infra/.installed-* && touch "$stamp"
fi
.venv-infra/bin/cfn-lint infra/cfn/*.yaml
echo "infra: cfn-lint found nothing in infra/cfn/*.yaml"
.venv-infra/bin/checkov --directory infra/cfn --framework cloudformation --skip-download --compact --quiet
echo "infra: checkov found no failed check in infra/cfn/"
