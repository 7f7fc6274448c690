#!/usr/bin/env bash
# Throughput through the nginx balancer with 1, 2 and 3 shards against direct access to one
# process, side by side in one run, on 127.0.0.1, bounded in time (docs/scale.md,
# BENCHMARKS.md). The workload: O1 spread over every account (scripts/wrk/accounts.lua), each
# request with its account's Basic credentials. On a 2-core machine this measures what the
# balancer costs, not how shards scale: nginx, wrk and every shard share the two cores.
#
#   scripts/cluster-bench.sh                      # 3,000 cabinets, 30 accounts, 10 s each
#   DURATION=5 FLEET=3000 AGENTS=30 scripts/cluster-bench.sh
#   MEMORY=1 scripts/cluster-bench.sh             # also: start-up and memory of one shard of
#                                                 # 10 of a 1,000,000-cabinet fleet (~100k cabinets)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
FLEET=${FLEET:-3000}
AGENTS=${AGENTS:-30}
OUT=bench-out
mkdir -p "$OUT"
TABLE="$OUT/cluster.md"
command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
cargo build --release -q
BIN=target/release/bajie-sim
FLAGS=(--fleet "$FLEET" --agents "$AGENTS" --seed 1 --no-sim --frozen)

PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  scripts/cluster.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# BENCH_PAIRS for base URL $1: every account's Basic header and its first online cabinet.
pairs_for() {
  python3 - "$1" "$AGENTS" <<'EOF'
import base64, json, sys, urllib.request
base, agents = sys.argv[1], int(sys.argv[2])
out = []
for i in range(1, agents + 1):
    a = "agent%04d" % i
    auth = "Basic " + base64.b64encode(f"{a}:{a}".encode()).decode()
    req = urllib.request.Request(base + "/cdb-open-api/v1/cabinet/getAllDevice", headers={"Authorization": auth})
    rows = json.load(urllib.request.urlopen(req, timeout=60))["data"]
    cab = next(r["pCabinetid"] for r in rows if r["pOnline"])
    out.append(f"{auth}|{cab}")
print(",".join(out))
EOF
}

# measure LABEL URL: one wrk run; appends a table row.
DIRECT_RPS=""
measure() {
  local label=$1 url=$2 pairs
  pairs=$(pairs_for "$url")
  BENCH_PAIRS=$pairs wrk -t"$THREADS" -c"$CONNS" -d2s -s scripts/wrk/accounts.lua "$url" >/dev/null # warm-up
  BENCH_PAIRS=$pairs wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s scripts/wrk/accounts.lua "$url" \
    >"$OUT/cluster-$label.txt"
  local rps p50 p99 non2xx errors
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$OUT/cluster-$label.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$OUT/cluster-$label.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$OUT/cluster-$label.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$OUT/cluster-$label.txt")
  errors=$(awk '/Socket errors/ {print $0}' "$OUT/cluster-$label.txt")
  [ -n "$DIRECT_RPS" ] || DIRECT_RPS=$rps
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rps" \
    "$(python3 -c "print(f'{$rps / $DIRECT_RPS:.2f}')")" "$p50" "$p99" "${non2xx:-0}${errors:+ ($errors)}" >>"$TABLE"
}

{
  echo "fleet $FLEET cabinets, $AGENTS accounts, O1 over every account, wrk -t$THREADS -c$CONNS -d${DURATION}s, $(nproc) cores"
  echo
  echo "| setup | req/s | ratio to direct | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
} >"$TABLE"

# Direct: one process, the whole fleet.
"$BIN" --bind 127.0.0.1:0 "${FLAGS[@]}" >"$OUT/direct.out" 2>"$OUT/direct.log" &
PID=$!
for _ in $(seq 1 600); do grep -q listening "$OUT/direct.out" && break; sleep 0.1; done
measure direct "$(sed -n 's/^bajie-sim listening on //p' "$OUT/direct.out")"
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""

for s in 1 2 3; do
  url=$(scripts/cluster.sh up "$s" "${FLAGS[@]}" | sed -n 's/^bajie-sim cluster listening on //p')
  measure "nginx + $s shard$([ "$s" = 1 ] || echo s)" "$url"
  scripts/cluster.sh down >/dev/null
done
# The same with no idle connections kept to the shards: a new TCP connection per request.
url=$(BAJIE_CLUSTER_KEEPALIVE=0 scripts/cluster.sh up 1 "${FLAGS[@]}" | sed -n 's/^bajie-sim cluster listening on //p')
measure "nginx + 1 shard, no upstream keepalive" "$url"
scripts/cluster.sh down >/dev/null

if [ "${MEMORY:-0}" = 1 ]; then
  # One shard of ten of a 1,000,000-cabinet, 1,000-account fleet: ~100,000 cabinets.
  t0=$(date +%s.%N)
  "$BIN" --bind 127.0.0.1:0 --fleet 1000000 --agents 1000 --shard 0/10 --seed 1 --no-sim --frozen \
    >"$OUT/shard.out" 2>"$OUT/shard.log" &
  PID=$!
  for _ in $(seq 1 3000); do grep -q listening "$OUT/shard.out" && break; sleep 0.1; done
  started=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  url=$(sed -n 's/^bajie-sim listening on //p' "$OUT/shard.out")
  rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$PID/status")
  cabinets=$(curl -s "$url/_sim/state" | python3 -c 'import json,sys; w=json.load(sys.stdin)["data"]["world"]; print(len(w["cabinets"]), len(w["batteries"]), len(w["agents"]))')
  {
    echo
    echo "shard 0/10 of --fleet 1000000 --agents 1000: cabinets, batteries, accounts = $cabinets;"
    echo "listening after $started s; resident memory after start ${rss} MB"
  } >>"$TABLE"
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
fi
cat "$TABLE"
