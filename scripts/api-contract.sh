#!/usr/bin/env bash
# The HTTP API's contract test: schemathesis (pinned) generates requests from docs/openapi.json and runs
# every check (`--checks all`) against `npm start`; it fails on any finding.
#
#   scripts/api-contract.sh [extra schemathesis run options]
#
# `npm start` runs on a free loopback port with a fresh data directory (deleted afterwards) in a process
# group of its own, which is stopped however this script ends. The run is bounded by
# STREAMBED_CONTRACT_MAX_TIME seconds (default 180) of generation, plus start-up and shutdown.
# schemathesis comes from PyPI into a virtualenv under ~/.cache/streambed/schemathesis-venv (outside the
# clone, reused across runs), created with python3 on first use. Settings: scripts/api-contract/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

SCHEMATHESIS_VERSION="4.32.5"
VENV="${STREAMBED_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/streambed/schemathesis-venv}"
SCHEMATHESIS="$VENV/bin/schemathesis"
MAX_TIME="${STREAMBED_CONTRACT_MAX_TIME:-180}"

if ! "$SCHEMATHESIS" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    echo "could not create $VENV: python3 with the venv module is required (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/streambed-contract.XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
server=""

stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    # Ctrl-C for the whole group (npm, start.ts, MinIO, DynamoDB Local); SIGKILL if it lingers.
    kill -INT -- "-$server" 2>/dev/null || kill -INT "$server" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "$server" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$server" 2>/dev/null || kill -KILL "$server" 2>/dev/null || true
  fi
  server=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# setsid: npm start leads a process group of its own, so stopping it stops everything it started.
setsid npm start --silent -- --port "$port" --data-dir "$work/data" --kafka-port 0 >"$work/server.log" 2>&1 &
server=$!
deadline=$((SECONDS + 180))
until grep -q 'Press Ctrl-C to stop.' "$work/server.log"; do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "npm start exited before serving:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "npm start did not come up within 180 s:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "npm start is serving http://127.0.0.1:$port; schemathesis $SCHEMATHESIS_VERSION for up to ${MAX_TIME} s" >&2

# From the temporary directory: schemathesis and Hypothesis keep caches (.schemathesis/, .hypothesis/) in
# the working directory, and nothing is to be left in the clone.
status=0
(
  cd "$work"
  SCHEMATHESIS_HOOKS="$repo/scripts/api-contract/hooks.py" "$SCHEMATHESIS" \
    --config-file "$repo/scripts/api-contract/schemathesis.toml" run "$repo/docs/openapi.json" \
    --url "http://127.0.0.1:$port" --checks all --max-time "$MAX_TIME" --no-color "$@"
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found problems (exit $status); the server's log:" >&2
  tail -n 30 "$work/server.log" | cut -c 1-400 >&2
  echo "server errors in full (the last 5):" >&2
  grep '"level":"ERROR"' "$work/server.log" | tail -n 5 | cut -c 1-6000 >&2 || true
fi
exit "$status"
