#!/usr/bin/env bash
# Restoring a state file against generating the same world, side by side in one run:
# seconds from start to the listening line, CPU seconds spent by then (all threads) and peak
# resident size (VmHWM), for
# `--fleet FLEET` and for `--state-file` of that world's export. Loopback only, bounded.
#
#   scripts/bench-restore.sh                 # 100,000 cabinets
#   FLEET=20000 scripts/bench-restore.sh
#   BASE=/path/to/older/bajie-sim scripts/bench-restore.sh   # also restore with that binary
#
# The restore is also timed in the process itself (RUST_LOG=debug): reading the file and
# checking the world, printed after the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET=${FLEET:-100000}
OUT=bench-out/restore
mkdir -p "$OUT"
[ "${SKIP_BUILD:-}" = 1 ] || cargo build --release -q
BIN=${BIN:-target/release/bajie-sim}
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

# start NAME ARGS...: prints "NAME: S s to listen, peak M MB"; leaves URL and PID set.
start() {
  local name=$1 t0
  shift
  : >"$OUT/$name.out"
  t0=$(date +%s.%N)
  "${BIN}" --bind 127.0.0.1:0 --no-sim --frozen "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  PID=$!
  URL=
  for _ in $(seq 1 6000); do
    URL=$(grep -o 'http://[0-9.:]*' "$OUT/$name.out" 2>/dev/null | head -1 || true)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$OUT/$name.err" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$URL" ] || { echo "$name did not start" >&2; exit 1; }
  local secs peak cpu
  secs=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  peak=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status")
  # CPU time of all its threads so far (user + system): what the start cost, whatever else
  # the machine was doing meanwhile.
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$PID/stat")
  echo "$name: $secs s to listen, $cpu s of CPU, peak $peak MB"
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; }

start generate --fleet "$FLEET" --seed 1
curl -s -o "$OUT/state.json" "$URL/_sim/state"
echo "state file: $(( $(stat -c %s "$OUT/state.json") / 1048576 )) MiB"
stop
# Restored from a copy: a stopping simulator saves its world into its state file.
restore() {
  local name=$1 bin=$2
  cp "$OUT/state.json" "$OUT/$name.json"
  BIN=$bin RUST_LOG=${RUST_LOG:-bajie_sim=debug} start "$name" --state-file "$OUT/$name.json" --seed 1
  stop
  rm -f "$OUT/$name.json"
}
restore restore "$BIN"
if [ -n "${BASE:-}" ]; then
  restore restore-base "$BASE"
fi
start generate-again --fleet "$FLEET" --seed 1
stop
restore restore-again "$BIN"
grep -ho 'snapshot \(read\|checked\) in .*' "$OUT/restore.err" "$OUT/restore-again.err" || true
