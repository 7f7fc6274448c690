#!/usr/bin/env bash
# Metrics overhead: O1 (one cabinet, the cheapest answer) with metrics on, with
# --metrics=false, and (BASE_BIN) the binary of an earlier commit, in alternating rounds on
# 127.0.0.1. Besides req/s it reports the server's CPU time per request (utime+stime from
# /proc over the requests wrk counted), which a machine shared with other work disturbs far
# less than throughput does.
#
#   BASE_BIN=/tmp/bajie-sim-old ROUNDS=5 scripts/bench-metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
BASE_BIN=${BASE_BIN:-}
OUT=bench-out/metrics
mkdir -p "$OUT"
cargo build --release --bins -q
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
ARGS=(--seed 1 --no-sim --frozen)
target/release/bajie-sim --bind 127.0.0.1:18191 "${ARGS[@]}" >"$OUT/on.out" 2>/dev/null &
PIDS+=($!)
target/release/bajie-sim --bind 127.0.0.1:18192 "${ARGS[@]}" --metrics=false >"$OUT/off.out" 2>/dev/null &
PIDS+=($!)
NAMES=(on off)
if [ -n "$BASE_BIN" ]; then
  "$BASE_BIN" --bind 127.0.0.1:18193 "${ARGS[@]}" >"$OUT/old.out" 2>/dev/null &
  PIDS+=($!)
  NAMES+=(old)
fi
sleep 2
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
Q="/cdb-open-api/v1/rent/cabinet/query?deviceId=BJD60151"
: >"$OUT/rounds.txt"
for r in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do
    pid=${PIDS[$i]} port=$((18191 + i))
    c0=$(cpu "$pid")
    read -r n rps < <(wrk -t2 -c64 -d"${DURATION}s" -s scripts/wrk/auth.lua "http://127.0.0.1:$port$Q" |
      awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {print n, r}')
    c1=$(cpu "$pid")
    echo "$r ${NAMES[$i]} $n $rps $((c1 - c0))" | tee -a "$OUT/rounds.txt"
  done
done
python3 - "$OUT/rounds.txt" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
tck = int(sys.argv[2])
by = {}
for line in open(sys.argv[1]):
    r, name, n, rps, ticks = line.split()
    by.setdefault(r, {})[name] = (float(rps), int(ticks) / tck * 1e6 / int(n))
names = list(next(iter(by.values())).keys())
for a, b in (("on", "off"), ("on", "old"), ("off", "old")):
    if a in names and b in names:
        rps = [v[a][0] / v[b][0] for v in by.values()]
        cpu = [v[a][1] / v[b][1] for v in by.values()]
        print(f"{a}/{b}: req/s ratio median {statistics.median(rps):.2f} ({' '.join(f'{x:.2f}' for x in rps)}); "
              f"CPU per request ratio median {statistics.median(cpu):.3f} ({' '.join(f'{x:.3f}' for x in cpu)})")
PY
