#!/usr/bin/env bash
# Where the server's time goes on locked instructions, on O1 over the fleet: perf samples
# the server while wrk drives scripts/wrk/o1-spread.lua, and counts the samples that land just
# after a `lock`-prefixed or `xchg` instruction (a sample is charged to the instruction after
# the one the processor waited on). A locked instruction waits for the stores before it and,
# on a cache line another core wrote last, for the line to come over: the costs callgrind's
# instruction counts do not see. Prints the share of all samples and the functions they are in.
#
#   scripts/perf-atomics.sh                             # this build, 100,000 cabinets
#   BIN=/tmp/bajie-sim-old scripts/perf-atomics.sh      # another binary (needs its symbols)
#   FLEET=10000 SECONDS_RECORDED=3 scripts/perf-atomics.sh
#
# Loopback only; needs perf (linux-perf), objdump (binutils), wrk, curl and python3. The
# figure moves by a few tenths of a percent from run to run: compare two binaries in one
# sitting, each run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh

BIN=${BIN:-target/release/bajie-sim}
FLEET=${FLEET:-100000}
SECONDS_RECORDED=${SECONDS_RECORDED:-5}
OUT=bench-out/atomics
mkdir -p "$OUT"
[ "${SKIP_BUILD:-}" = 1 ] || cargo build --release -q
for tool in perf objdump wrk curl python3; do
  command -v "$tool" > /dev/null || { echo "$tool is needed"; exit 2; }
done

"$BIN" --bind 127.0.0.1:0 --fleet "$FLEET" --seed 1 --no-sim --frozen > "$OUT/server.log" 2>&1 &
SP=$!
trap 'kill $SP 2> /dev/null || true' EXIT
URL=$(server_url "$OUT/server.log" 1200 0.1)
[ -n "$URL" ] || { echo "the server did not start"; exit 1; }
online_cabinets "$URL" > "$OUT/cabinets.txt"
export BENCH_CABINET_FILE=$OUT/cabinets.txt
wrk -t2 -c64 -d3s -s scripts/wrk/o1-spread.lua "$URL/" > /dev/null    # warm: hints, memos
wrk -t2 -c64 -d"$((SECONDS_RECORDED + 4))s" -s scripts/wrk/o1-spread.lua "$URL/" > "$OUT/wrk.txt" &
WP=$!
sleep 2
perf record -q -F 1999 -p "$SP" -o "$OUT/perf.data" -- sleep "$SECONDS_RECORDED" > /dev/null 2>&1
wait "$WP"
perf script -i "$OUT/perf.data" -F ip,sym,dso --show-mmap-events 2> /dev/null > "$OUT/samples.txt"
objdump -d --no-show-raw-insn "$BIN" \
  | awk '/^ *[0-9a-f]+:/ { a = $1; sub(":", "", a); if (locked) print a; locked = ($2 ~ /^(lock|xchg)/) }' \
  > "$OUT/after-locked.txt"
readelf -lW "$BIN" | awk '$1 == "LOAD" && / R E / { print $2, $3 }' > "$OUT/text-segment.txt"

python3 - "$OUT" "$(basename "$BIN")" <<'EOF'
import collections, re, sys
out, name = sys.argv[1], sys.argv[2]
after = {int(a, 16) for a in open(f"{out}/after-locked.txt")}
seg_off, seg_vaddr = (int(x, 16) for x in open(f"{out}/text-segment.txt").read().split()[:2])
base, total, hits = None, 0, collections.Counter()
for line in open(f"{out}/samples.txt"):
    m = re.search(r"MMAP2? .*\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+) .*r-xp (\S+)", line)
    if m:
        if m.group(4).endswith("/" + name):
            # Run-time address of the mapping minus the file offset it starts at, plus the
            # segment's offset-to-address shift: a sample's address in objdump's terms.
            base = int(m.group(1), 16) - int(m.group(3), 16) - (seg_vaddr - seg_off)
        continue
    parts = line.split(None, 1)
    if not parts or not re.fullmatch(r"[0-9a-f]+", parts[0]):
        continue
    total += 1
    if base is not None and name in line and int(parts[0], 16) - base in after:
        hits[re.sub(r"\s*\(.*\)\s*$", "", parts[1]).strip()] += 1
if not total:
    sys.exit("no samples")
print(f"{sum(hits.values())} of {total} samples just after a locked instruction: "
      f"{100 * sum(hits.values()) / total:.2f} % of the server's time")
for sym, n in hits.most_common(12):
    print(f"  {100 * n / total:5.2f} %  {sym[:110]}")
EOF
grep -h "Requests/sec" "$OUT/wrk.txt"
