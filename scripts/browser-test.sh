#!/usr/bin/env bash
# Real-browser test of the dashboard (/_sim/ui): installs what is missing (Debian's Chromium,
# playwright-core from npm), builds and starts the simulator on a free port with a frozen clock
# pinned to 2026-03-02 09:00:00 (--start, --seed 42) and no simulation, runs scripts/browser-test/dashboard.test.mjs against it with a deadline,
# and stops the simulator. Screenshots land in ci-artifacts/.
#
# Works on a fresh machine as root (CI=true included). Environment:
#   BAJIE_SIM_URL      test a simulator that is already running instead of starting one
#                      (the test resets its world first; start it with --frozen --no-sim
#                      --start '2026-03-02 09:00:00', the time the test expects)
#   CHROMIUM_PATH      browser binary (default /usr/bin/chromium)
#   TEST_TIMEOUT_S     deadline of the node test run (default 180)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TEST_DIR=$ROOT/scripts/browser-test
ARTIFACTS=$ROOT/ci-artifacts
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-180}
mkdir -p "$ARTIFACTS"
mkdir -p "$ROOT/target" && WORK=$(mktemp -d "$ROOT/target/browser-test.XXXXXX")
SIM_PID=

cleanup() {
  if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

apt_install() {
  echo "== apt-get install $*"
  as_root apt-get update -qq >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; return 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$WORK/apt.log" 2>&1 \
    || { tail -20 "$WORK/apt.log" >&2; return 1; }
}

echo "== browser"
if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$CHROMIUM_PATH" != /usr/bin/chromium ]; then
    echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
    exit 1
  fi
  apt_install chromium
fi
"$CHROMIUM_PATH" --version 2>/dev/null | grep -v '^\s*$' | tail -1 || true

echo "== node and playwright-core"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
node --version
(
  cd "$TEST_DIR"
  # npm ci installs exactly the lock file; playwright-core downloads no browser.
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
)

if [ -z "${BAJIE_SIM_URL:-}" ]; then
  echo "== build (debug: a release build costs minutes on two cores and the test needs no speed)"
  cargo build --quiet
  echo "== start the simulator"
  "$ROOT/target/debug/bajie-sim" --bind 127.0.0.1:0 --frozen --no-sim --seed 42 \
    --start "2026-03-02 09:00:00" >"$WORK/sim.out" 2>"$WORK/sim.err" &
  SIM_PID=$!
  deadline=$((SECONDS + 30))
  BAJIE_SIM_URL=
  while [ -z "$BAJIE_SIM_URL" ]; do
    BAJIE_SIM_URL=$(sed -n 's/^bajie-sim listening on \(http:\/\/[^ ]*\)$/\1/p' "$WORK/sim.out" | head -1)
    [ -n "$BAJIE_SIM_URL" ] && break
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      echo "the simulator exited before listening:" >&2
      cat "$WORK/sim.err" >&2
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "the simulator printed no listening line within 30 s" >&2
      cat "$WORK/sim.err" >&2
      exit 1
    fi
    sleep 0.1
  done
fi
echo "simulator at $BAJIE_SIM_URL"

echo "== dashboard test"
set +e
(
  cd "$TEST_DIR"
  BAJIE_SIM_URL=$BAJIE_SIM_URL CHROMIUM_PATH=$CHROMIUM_PATH ARTIFACTS_DIR=$ARTIFACTS \
    timeout --kill-after=10 "$TEST_TIMEOUT_S" node --test --test-reporter=spec dashboard.test.mjs
)
status=$?
set -e
if [ $status -ne 0 ]; then
  [ $status -eq 124 ] && echo "the browser test did not finish within ${TEST_TIMEOUT_S} s" >&2
  if [ -n "$SIM_PID" ]; then
    echo "-- simulator log (last 40 lines)" >&2
    tail -40 "$WORK/sim.err" >&2 || true
  fi
  exit $status
fi
echo "screenshots: $(cd "$ARTIFACTS" && ls dashboard*.png | tr '\n' ' ')"
