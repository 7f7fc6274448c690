#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a figure that does not move with
# the machine's load, for comparing two builds on small changes that throughput runs on a
# shared machine cannot tell apart. It does not see cache misses or system calls, so it
# complements scripts/bench-fleet.sh and never replaces it.
#
# Each binary starts under callgrind with instrumentation off (building the fleet runs at
# nearly native speed), answers WARM requests uncounted (the journal fills, the memos settle),
# then N requests counted, one keep-alive connection, one HTTP worker. O1 asks about random
# cabinets of the demo account (seeded, the same ones for every binary); PATHQ asks one path.
#
#   scripts/bench-instructions.sh                               # this build, O1 over the fleet
#   BASE_BIN=/tmp/bajie-sim-old scripts/bench-instructions.sh   # and an older binary
#   PATHQ='/cdb-open-api/v1/cabinet/getAllDevicePage?page=1&limit=20' N=1000 scripts/bench-instructions.sh
#   THIS_BIN=/tmp/bajie-sim-lines SKIP_BUILD=1 scripts/bench-instructions.sh  # another binary as "this"
#   CG_EXTRA='--cache-sim=yes --LL=4194304,16,64' scripts/bench-instructions.sh  # and cache misses
#   RENT_FIRST=15 PATHQ='/cdb-open-api/v1/order/list?page=1&limit=20' N=1000 scripts/bench-instructions.sh
#                                                   # R1: rents and returns first, so it has orders
#
# WARM defaults past the request journal's 10,000 entries: every counted request then writes
# into an entry the journal evicted, as in a long run, and not into a new one that grows its
# buffer (a few hundred instructions more). RENT_FIRST runs scripts/wrk/mixed.lua (needs wrk)
# for that many seconds first, with ejects at once, and waits for its callbacks to be given up.
#
# A build with line tables (CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release
# --target-dir /tmp/lines) as THIS_BIN lets callgrind_annotate --auto=yes show costs by source
# line. The cache simulation has no hardware prefetcher: a walk over neighbouring batteries
# counts a miss per line that the machine would mostly have fetched ahead. And valgrind counts
# each step of a `rep stos`/`rep movs` as an instruction: the 3 KB memset (actix's header
# table, two a request) shows as some 6,000 instructions a request, in the yardstick too, where
# the machine spends a hundred cycles.
#
# Loopback only; needs valgrind (callgrind_control, callgrind_annotate), curl and python3.
# The per-function breakdown: callgrind_annotate --inclusive=yes bench-out/instructions/this.out.1
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh

FLEET=${FLEET:-100000}
N=${N:-4000}
WARM=${WARM:-11000}
RENT_FIRST=${RENT_FIRST:-0}
PATHQ=${PATHQ:-}
BASE_BIN=${BASE_BIN:-}
OUT=bench-out/instructions
mkdir -p "$OUT"
[ "${SKIP_BUILD:-}" = 1 ] || cargo build --release -q
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 2; }

# A client that allocates nothing interesting and waits for each whole answer.
cat > "$OUT/client.py" <<'EOF'
import random, socket, sys
port, n, ids_file, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ids = [l.strip() for l in open(ids_file) if l.strip()]
rnd = random.Random(42)
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
for _ in range(n):
    p = path or "/cdb-open-api/v1/rent/cabinet/query?deviceId=" + rnd.choice(ids)
    s.sendall(f"GET {p} HTTP/1.1\r\nHost: bench\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n\r\n".encode())
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    f.read(length)
EOF

measure() { # binary tag
  local bin=$1 tag=$2 vp url port
  rm -f "$OUT/$tag".out*
  # shellcheck disable=SC2086 # CG_EXTRA is a list of options
  valgrind --tool=callgrind ${CG_EXTRA:-} --instr-atstart=no --callgrind-out-file="$OUT/$tag.out" \
    "$bin" --bind 127.0.0.1:0 --fleet "$FLEET" --no-sim --frozen --seed 7 --workers 1 --eject-delay-s 0 \
    > "$OUT/$tag.log" 2>&1 &
  vp=$!
  url=$(server_url "$OUT/$tag.log" 2400 0.25)
  [ -n "$url" ] || { echo "$tag did not start"; kill "$vp"; exit 1; }
  port=${url##*:}
  if [ ! -s "$OUT/cabinets.txt" ]; then
    online_cabinets "$url" > "$OUT/cabinets.txt"
  fi
  if [ "$RENT_FIRST" -gt 0 ]; then
    BENCH_CABINETS=$(head -16 "$OUT/cabinets.txt" | paste -sd,) \
      wrk -t1 -c4 -d"${RENT_FIRST}s" -s scripts/wrk/mixed.lua "$url/" > "$OUT/$tag-rent.txt"
    # Its callbacks go to a port that refuses; each is given up after its retries (about 31 s).
    for _ in $(seq 1 600); do
      curl -s "$url/_sim/health" | grep -q '"pushQueued":0,' && break
      sleep 0.5
    done
    echo "$tag: $(curl -s -u demo:demo "$url/cdb-open-api/v1/order/list?page=1&limit=1" | grep -o '"total":[0-9]*') orders"
  fi
  python3 "$OUT/client.py" "$port" "$WARM" "$OUT/cabinets.txt" "$PATHQ"
  callgrind_control -i on "$vp" > /dev/null
  python3 "$OUT/client.py" "$port" "$N" "$OUT/cabinets.txt" "$PATHQ"
  callgrind_control -d "$vp" > /dev/null
  kill "$vp"
  wait "$vp" 2> /dev/null || true
  # The counted requests are in the first dump (`.out.1`); `.out` holds what came after it.
  local total
  total=$(callgrind_annotate "$OUT/$tag.out.1" 2> /dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$tag: $((total / N)) instructions a request (${PATHQ:-O1 over the fleet}, $N requests)"
}

rm -f "$OUT/cabinets.txt"
measure "${THIS_BIN:-target/release/bajie-sim}" this
[ -n "$BASE_BIN" ] && measure "$BASE_BIN" base
exit 0
