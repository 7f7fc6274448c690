#!/usr/bin/env bash
# How long the world lock is held by the whole-world passes (/_sim/check, GET /_sim/state)
# and by a long advance, seen from a steady load of rents and returns (writes) and O1 and
# /_sim/health (reads), each request timed (scripts/bench_holds.py):
# - `--no-sim --frozen`: nothing else runs, then checks back to back, then exports back to back;
# - simulation on, clock frozen: nothing else runs, then an advance of a virtual day.
# Loopback only, bounded: five phases of PHASE seconds per binary.
#
#   scripts/bench-holds.sh                                # fleet 100000, 30 s phases
#   BASE_BIN=/tmp/bajie-sim-old scripts/bench-holds.sh    # also an older binary, same run
#   FLEET=20000 PHASE=10 RUNS=passes scripts/bench-holds.sh
#
# The simulator runs with RUST_LOG=bajie_sim::store=debug, which logs each pass: pieces,
# total time and the longest hold; the script prints the longest of them. Needs curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

FLEET=${FLEET:-100000}
PHASE=${PHASE:-30}
RATE=${RATE:-20}
BASE_BIN=${BASE_BIN:-}
RUNS=${RUNS:-passes,advance}   # which of the two runs
OUT=bench-out/holds
mkdir -p "$OUT"
[ "${SKIP_BUILD:-}" = 1 ] || cargo build --release -q

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

run() {
  local name=$1 bin=$2 phases=$3 log="$OUT/$1.err"
  shift 3
  RUST_LOG=warn,bajie_sim::store=debug "$bin" --bind 127.0.0.1:0 --fleet "$FLEET" --frozen "$@" \
    >"$OUT/$name.out" 2>"$log" &
  local pid=$!
  PIDS+=("$pid")
  local url=
  for _ in $(seq 1 1800); do
    url=$(grep -o 'http://[0-9.:]*' "$OUT/$name.out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "$name did not start" >&2; cat "$log" >&2; exit 1; }
  local cabs
  cabs=$(curl -s -u demo:demo "$url/cdb-open-api/v1/cabinet/getAllDevice" | python3 -c '
import json, sys
print(",".join([r["pCabinetid"] for r in json.load(sys.stdin)["data"] if r["pOnline"]][:5000]))')
  echo "== $name ($bin $*), fleet $FLEET, $RATE rent/return cycles/s, ${PHASE}s phases"
  CABINETS=$cabs RATE=$RATE PHASE=$PHASE PHASES=$phases python3 scripts/bench_holds.py "$url" | tee "$OUT/$name.jsonl"
  python3 - "$log" <<'PY'
import re, sys
holds = [float(m.group(1)) for m in re.finditer(r"longest hold ([0-9.]+) ms", open(sys.argv[1]).read())]
print(f"longest hold of a piece over {len(holds)} logged passes: {max(holds):.3f} ms" if holds
      else "no pass logged its holds (a build before the passes in pieces: each pass is one hold)")
PY
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

for bin in ${BASE_BIN:+base:$BASE_BIN} new:target/release/bajie-sim; do
  case ",$RUNS," in *,passes,*) run "${bin%%:*}-passes" "${bin#*:}" idle,check,export --no-sim ;; esac
  case ",$RUNS," in *,advance,*) run "${bin%%:*}-advance" "${bin#*:}" idle,advance ;; esac
done
