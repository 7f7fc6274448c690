#!/usr/bin/env bash
# Resident memory and start-up at fleet scale (BENCHMARKS.md, "Memory and start-up"), this
# build against an optional previous binary, in alternating rounds on 127.0.0.1 only:
#
#   scripts/bench-memory.sh                                  # fleet 100000, 3 rounds
#   BASE_BIN=/tmp/bajie-sim-old FLEET=10000 ROUNDS=5 scripts/bench-memory.sh
#
# Per start: wall seconds until the listening line, CPU seconds the process used until then
# (user + system from /proc/PID/stat; on a loaded machine the wall time measures the machine,
# the CPU time much less so), VmRSS one second after the line, and VmHWM (the peak).
set -euo pipefail
cd "$(dirname "$0")/.."

FLEET=${FLEET:-100000}
ROUNDS=${ROUNDS:-3}
BASE_BIN=${BASE_BIN:-}
cargo build --release -q

PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

# measure NAME BIN: one start, one line of figures.
measure() {
  local name=$1 bin=$2 log t0 t1 cpu
  log=$(mktemp)
  t0=$(date +%s.%N)
  "$bin" --bind 127.0.0.1:0 --fleet "$FLEET" --seed 1 --frozen --no-sim >"$log" 2>/dev/null &
  PID=$!
  for _ in $(seq 1 6000); do
    grep -q 'http://' "$log" && break
    sleep 0.02
  done
  t1=$(date +%s.%N)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$PID/stat")
  sleep 1
  printf '%s fleet %s: listening after %.2f s wall, %s s CPU; VmRSS %s MB, VmHWM %s MB\n' \
    "$name" "$FLEET" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$cpu" \
    "$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$PID/status")" \
    "$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status")"
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=
  rm -f "$log"
}

for r in $(seq 1 "$ROUNDS"); do
  measure "r$r this" target/release/bajie-sim
  [ -n "$BASE_BIN" ] && measure "r$r previous" "$BASE_BIN"
done
