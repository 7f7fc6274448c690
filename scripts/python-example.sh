#!/usr/bin/env bash
# Runs the Python examples (examples/python/test_rent.py of docs/testing.md, test_requests.py of docs/request-journal.md) against a fresh simulator:
# builds the debug binary, starts it on a free port with a frozen clock pinned to the example's
# start and seed (the default world otherwise starts at the real time), runs the test, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin bajie-sim
mkdir -p target && WORK=$(mktemp -d "$PWD/target/python-example.XXXXXX")
target/debug/bajie-sim --bind 127.0.0.1:0 --frozen --no-sim --seed 42 --start '2026-03-02 09:00:00' >"$WORK/sim.out" 2>"$WORK/sim.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL=
for _ in $(seq 1 300); do
  URL=$(sed -n 's/^bajie-sim listening on \(http:\/\/[^ ]*\)$/\1/p' "$WORK/sim.out" | head -1)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the simulator did not start" >&2; cat "$WORK/sim.err" >&2; exit 1; }
BAJIE_SIM_URL=$URL timeout 120 python3 -m unittest -v examples/python/test_rent.py examples/python/test_requests.py
