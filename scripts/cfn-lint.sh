#!/usr/bin/env bash
# Lints the synthesized CloudFormation templates with cfn-lint (pinned), failing on any error or warning.
#
#   scripts/cfn-lint.sh [cdk.out]
#
# Run `cdk synth` first. cfn-lint comes from PyPI into a virtualenv under ~/.cache/streambed/venv
# (outside the clone, reused across runs), created with python3 on first use. Needs python3 with the
# venv module (and pip reaching PyPI once); no Docker.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.58.0"
ASSEMBLY_DIR="${1:-cdk.out}"
VENV="${STREAMBED_CFN_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/streambed/venv}"
CFN_LINT="$VENV/bin/cfn-lint"

if ! "$CFN_LINT" --version 2>/dev/null | grep -qx "cfn-lint $CFN_LINT_VERSION"; then
  echo "installing cfn-lint $CFN_LINT_VERSION into $VENV" >&2
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    echo "could not create $VENV: python3 with the venv module is required (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

shopt -s nullglob
templates=("$ASSEMBLY_DIR"/*.template.json)
if [ "${#templates[@]}" -eq 0 ]; then
  echo "no templates in $ASSEMBLY_DIR: run cdk synth first" >&2
  exit 1
fi

# Fails on errors and warnings; informational findings (I checks, included) are shown but not fatal.
# The region only selects the resource specification the templates are checked against.
"$CFN_LINT" --regions "${AWS_REGION:-us-east-1}" --include-checks I --non-zero-exit-code warning \
  -- "${templates[@]}"
echo "cfn-lint $CFN_LINT_VERSION: ${#templates[@]} template(s) clean" >&2
