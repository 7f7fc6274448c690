#!/usr/bin/env bash
# Property-based conformance run: schemathesis (from PyPI) against the simulator's own OpenAPI
# document (/_sim/openapi.json), checking that no input produces a server error and that every
# answer has the documented content type and schema.
#
# Installs a pinned schemathesis into a virtualenv under ~/.cache (reused between runs; set
# BAJIE_SIM_SCHEMATHESIS_VENV to move it), starts the debug binary on a free loopback port with
# --no-sim --frozen --seed 1 and a pinned --start, runs a bounded number of examples per operation, stops the server.
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 25), SCHEMATHESIS_TIME_LIMIT (seconds, default 480).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="4.32.5"
VENV="${BAJIE_SIM_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/bajie-sim/schemathesis-venv}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
TIME_LIMIT="${SCHEMATHESIS_TIME_LIMIT:-480}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $VERSION\$"; then
  echo "== installing schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --quiet --bin bajie-sim
mkdir -p target && WORK="$(mktemp -d "$PWD/target/schemathesis.XXXXXX")"
# No retries and a short timeout: schemathesis may configure receivers that do not exist.
target/debug/bajie-sim --bind 127.0.0.1:0 --no-sim --frozen --seed 1 --start '2026-03-02 09:00:00' \
  --push-retries-ms= --push-timeout-ms 500 >"$WORK/stdout" 2>"$WORK/stderr" &
PID=$!
cleanup() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

URL=""
for _ in $(seq 1 200); do
  if LINE="$(grep -m1 '^bajie-sim listening on ' "$WORK/stdout")"; then
    URL="${LINE#bajie-sim listening on }"
    break
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "the simulator did not start:" >&2
    cat "$WORK/stderr" >&2
    exit 1
  fi
  sleep 0.05
done
[ -n "$URL" ] || { echo "no listening line within 10 s" >&2; exit 1; }
echo "== schemathesis $VERSION against $URL/_sim/openapi.json (at most $MAX_EXAMPLES examples per operation, ${TIME_LIMIT}s)"

# Excluded: /_sim/pushes/wait and /_sim/requests/wait (their documented timeout, up to 120 s, is
# a wait by design, longer than the per-request timeout below) and
# POST /_sim/faults and POST /_sim/latency (a rule or a profile may inject 5xx answers or
# minutes of latency into later requests on purpose).
# The virtual clock may be changed by the run; --frozen only sets how it starts.
set +e
# Run from the scratch directory: schemathesis keeps caches and reports in its working directory.
(cd "$WORK" && timeout --signal=INT --kill-after=30 "$TIME_LIMIT" \
  "$VENV/bin/schemathesis" run "$URL/_sim/openapi.json" \
    --auth demo:demo \
    --checks not_a_server_error,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --seed 1 \
    --workers 2 \
    --request-timeout 20 \
    --exclude-operation-id sim_pushes_wait \
    --exclude-operation-id sim_requests_wait \
    --exclude-operation-id sim_add_fault \
    --exclude-operation-id sim_set_latency \
    --suppress-health-check all \
    --no-color) 2>&1 | tee "$WORK/report"
STATUS=${PIPESTATUS[0]}
set -e
if ! kill -0 "$PID" 2>/dev/null; then
  echo "the simulator died during the run:" >&2
  tail -50 "$WORK/stderr" >&2
  exit 1
fi
if grep -q 'panicked' "$WORK/stderr"; then
  echo "the simulator panicked during the run:" >&2
  grep -A5 'panicked' "$WORK/stderr" | head -40 >&2
  exit 1
fi
# One closing line in the plain form CI logs are read for ("N passed, N failed").
CASES="$(grep -Eo '[0-9]+ generated, [0-9]+ passed' "$WORK/report" | tail -1 || true)"
PASSED="$(echo "$CASES" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || true)"
GENERATED="$(echo "$CASES" | grep -Eo '^[0-9]+' || true)"
if [ "$STATUS" -eq 0 ] && [ -n "$PASSED" ]; then
  echo "schemathesis: $PASSED passed, 0 failed"
elif [ -n "$GENERATED" ]; then
  echo "schemathesis: ${PASSED:-0} passed, $((GENERATED - ${PASSED:-0})) failed"
fi
exit "$STATUS"
