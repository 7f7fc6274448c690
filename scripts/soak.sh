#!/usr/bin/env bash
# Soak test, loopback only and bounded in time: a large fleet with the simulation on, every
# event of both accounts subscribed (E1) to the built-in receiver /_sim/ui/sink, a steady load
# of rents and returns, for DURATION seconds. Every SAMPLE seconds it records the resident
# size, /_sim/health (and its latency), /_sim/check, the clock's lag, deliveries and drops;
# a prober times /_sim/health once a second. It ends with `N passed, N failed` against the
# targets and exits non-zero when any failed.
#
#   scripts/soak.sh                                  # 100,000 cabinets at 600x for 10 minutes
#   FLEET=20000 SPEED=60 DURATION=60 SAMPLE=10 scripts/soak.sh
#
# Settings (environment): FLEET (100000), SPEED (600), DURATION seconds (600), SAMPLE seconds
# (30), RATE rent/return cycles per second (10), SEED (1), OUT (soak-out), RETENTION_H (0.25:
# orderRetentionHours, virtual hours finished orders are kept), and the targets
# HEALTH_P99_MS (100), MEM_GROWTH_PCT (10: growth allowed from the middle third of the samples
# to the last, after the first third as warm-up),
# LAG_MAX_MS (the clock's brake: one real second at SPEED, at least 1000 ms, plus 10 %), QUEUE_FULL (1000: drops are allowed only while at least this many
# deliveries are queued, i.e. while the receiver is slower than the queue). Needs curl and
# python3; reuses target/release/bajie-sim (cargo build --release first, a no-op when fresh).
set -euo pipefail
cd "$(dirname "$0")/.."

FLEET=${FLEET:-100000}
SPEED=${SPEED:-600}
DURATION=${DURATION:-600}
SAMPLE=${SAMPLE:-30}
RATE=${RATE:-10}
SEED=${SEED:-1}
OUT=${OUT:-soak-out}
HEALTH_P99_MS=${HEALTH_P99_MS:-100}
MEM_GROWTH_PCT=${MEM_GROWTH_PCT:-10}
# The world may fall behind the clock by what the brake allows (1 s of real time at SPEED,
# docs/reliability.md), never more: a lag past it means the brake failed and time ran away.
LAG_MAX_MS=${LAG_MAX_MS:-$(python3 -c "print(int(max(1000, float('$SPEED') * 1000) * 1.1))")}
QUEUE_FULL=${QUEUE_FULL:-1000}
RETENTION_H=${RETENTION_H:-0.25}
mkdir -p "$OUT"
SAMPLES="$OUT/samples.jsonl"
PROBES="$OUT/health-ms.txt"
: >"$SAMPLES"
: >"$PROBES"
: >"$OUT/load-progress.jsonl"

if [ "${SKIP_BUILD:-}" != 1 ]; then
  cargo build --release -q
fi
BIN=target/release/bajie-sim

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "soak: fleet $FLEET, speed $SPEED, ${DURATION}s, sample every ${SAMPLE}s, $RATE rent/return cycles/s"
"$BIN" --bind 127.0.0.1:0 --fleet "$FLEET" --speed "$SPEED" --seed "$SEED" >"$OUT/server.out" 2>"$OUT/server.err" &
SIMPID=$!
PIDS+=("$SIMPID")
SIM=
for _ in $(seq 1 1800); do
  SIM=$(grep -o 'http://[0-9.:]*' "$OUT/server.out" 2>/dev/null | head -1 || true)
  [ -n "$SIM" ] && break
  kill -0 "$SIMPID" 2>/dev/null || { cat "$OUT/server.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$SIM" ] || { echo "the simulator did not start within 180 s" >&2; exit 1; }
API="$SIM/cdb-open-api/v1"
SINK="$SIM/_sim/ui/sink"
echo "simulator at $SIM (pid $SIMPID)"

# Every event of both accounts to the built-in receiver (E1).
EVENTS=$(python3 -c '
import json
names = "CABINET_ONLINE CABINET_OFFLINE CABINET_STATUS BATTERY_IN BATTERY_BORROW_OUT BATTERY_ABNORMAL_WARNING BATTERY_POPUP ADMIN_RENTAL_ORDER POS_INFO_STATUS"
print(json.dumps([{"event": e, "pushUrl": "", "enable": True} for e in names.split()]))')
for a in demo acme; do
  curl -s -u "$a:$a" -H 'content-type: application/json' -X POST "$API/cabinet/eventPush/config" \
    -d "{\"pushUrl\":\"$SINK\",\"eventSubscriptions\":$EVENTS}" | grep -q '"code":0' \
    || { echo "E1 subscription of $a failed" >&2; exit 1; }
done

# Finished orders of simulated customers are kept RETENTION_H hours of virtual time (default
# 0.25): short enough that the order table reaches its steady size within the warm-up third
# of a short run, so the memory plateau judges leaks, not the table filling by design (with
# the product default of 24 h it fills for 24 virtual hours).
curl -s -X POST "$SIM/_sim/sim?orderRetentionHours=$RETENTION_H" | grep -q '"code":0' \
  || { echo "setting orderRetentionHours failed" >&2; exit 1; }

# Online demo cabinets with batteries (C4, one request), for the load.
CABS=$(curl -s -u demo:demo "$API/cabinet/getAllDevice" | python3 -c '
import json, sys
rows = [r["pCabinetid"] for r in json.load(sys.stdin)["data"] if r["pOnline"]]
print(",".join(rows[:2000]))')
[ -n "$CABS" ] || { echo "no online demo cabinet" >&2; exit 1; }

# The health prober: one timed GET a second (10 s cap: a stall counts as 10 s).
(
  end=$(($(date +%s) + DURATION))
  while [ "$(date +%s)" -lt "$end" ]; do
    t=$(curl -s -o /dev/null -m 10 -w '%{time_total}' "$SIM/_sim/health" || echo 10)
    echo "$t" >>"$PROBES"
    sleep 1
  done
) &
PIDS+=($!)

CABINETS=$CABS RATE=$RATE DURATION=$DURATION CALLBACK="$SINK" SAMPLE="$SAMPLE" PROGRESS="$OUT/load-progress.jsonl" \
  python3 scripts/soak/load.py "$SIM" >"$OUT/load.json" &
LOADPID=$!
PIDS+=("$LOADPID")

# The sampler; SHOW prints one sample as a line.
SHOW='
import json, sys
s = json.load(sys.stdin)
h = s["health"] or {}
get = lambda k: h.get(k, "absent")
print("t=%5ss rss=%d MB health=%s ms check=%s lagMs=%s delivered=%s dropped=%s queued=%s" % (
    s["t"], s["rssKb"] // 1024, s["healthMs"], s["checkCode"], get("lagMs"), get("pushDelivered"),
    get("pushDropped"), get("pushQueued")))'
T0=$(date +%s)
while :; do
  sleep "$SAMPLE"
  NOW=$(($(date +%s) - T0))
  RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SIMPID/status" 2>/dev/null || echo 0)
  HEALTH=$(curl -s -m 10 -w '\n%{time_total}' "$SIM/_sim/health" || printf '\n10')
  CHECK=$(curl -s -m 120 "$SIM/_sim/check" || echo '{}')
  python3 - "$NOW" "$RSS" "$HEALTH" "$CHECK" >>"$SAMPLES" <<'PY'
import json, sys
t, rss, health, check = sys.argv[1:5]
body, _, secs = health.rpartition("\n")
try:
    h = json.loads(body)["data"]
except Exception:
    h = None
try:
    c = json.loads(check)
except Exception:
    c = {}
print(json.dumps({"t": int(t), "rssKb": int(rss or 0), "healthMs": round(float(secs or 10) * 1000, 1),
                  "health": h, "checkCode": c.get("code"), "violations": len((c.get("data") or {}).get("violations") or [])}))
PY
  tail -1 "$SAMPLES" | python3 -c "$SHOW"
  [ "$NOW" -ge "$DURATION" ] && break
done
wait "$LOADPID" || true

python3 - "$SAMPLES" "$PROBES" "$OUT/load.json" "$OUT/load-progress.jsonl" \
  "$HEALTH_P99_MS" "$MEM_GROWTH_PCT" "$LAG_MAX_MS" "$QUEUE_FULL" <<'PY' | tee "$OUT/summary.txt"
import json, sys
samples = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
probes = sorted(float(l) * 1000 for l in open(sys.argv[2]) if l.strip())
try:
    load = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])
except Exception:
    load = {}
progress = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
p99_max, growth_max, lag_max, queue_full = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
results = []
def check(name, ok, detail):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")

# Memory plateau. The first third of the samples is the warm-up: a cold start fills the
# allocator's pools, the delivery journal (up to its cap), the order table (until finished
# orders reach their retention age) and the answer caches, so its growth says nothing about a
# leak. After it the resident size must level off: the peak of the last third may exceed the
# peak of the middle third by at most MEM_GROWTH_PCT: a leak of more than that share of the
# resident size per third of the run fails, a plateau reached during the warm-up passes
# (a slower leak needs a longer run to show). Comparing peaks, not single samples, keeps one
# sample's noise from deciding. Needs at least three samples.
third = len(samples) // 3
middle = max((s["rssKb"] for s in samples[third:2 * third]), default=0)
last = max((s["rssKb"] for s in samples[2 * third:]), default=0)
growth = (last - middle) * 100.0 / middle if middle else float("inf")
check("memory plateau", third >= 1 and middle > 0 and growth <= growth_max,
      f"after a warm-up of {third} sample(s): peak {middle // 1024} MB in the middle third, {last // 1024} MB in the "
      f"last ({growth:+.1f} %, at most +{growth_max:.0f} %; first sample {samples[0]['rssKb'] // 1024 if samples else 0} MB)")

# Health latency, from the once-a-second prober.
if probes:
    p99 = probes[min(len(probes) - 1, int(len(probes) * 0.99))]
    check("health p99", p99 < p99_max, f"p99 {p99:.1f} ms, max {probes[-1]:.1f} ms over {len(probes)} probes (target < {p99_max:.0f} ms)")
else:
    check("health p99", False, "no probe answered")

# No stalled worker: every sample answered health within 10 s, and the API load completed
# requests in every interval.
stalled = [s["t"] for s in samples if s["health"] is None]
done = [p["done"] for p in progress]
flat = [progress[i]["t"] for i in range(1, len(done)) if done[i] <= done[i - 1]]
check("no stalled worker", not stalled and not flat and load.get("requests", 0) > 0,
      f"health unanswered at {stalled or 'no'} sample(s); API progress flat in {flat or 'no'} interval(s); "
      f"{load.get('requests', 0)} API requests, {load.get('errors', '?')} transport/HTTP errors")
check("API errors", load.get("errors", 1) == 0 and load.get("rents", 0) > 0 and load.get("returns", 0) > 0,
      f"{load.get('rents', 0)} rents, {load.get('returns', 0)} returns, {load.get('errors', '?')} errors, "
      f"{load.get('business', 0)} business answers")

# /_sim/check holds at every sample.
bad = [s["t"] for s in samples if s["checkCode"] != 0]
check("/_sim/check", not bad and samples != [], f"violations at {bad or 'no'} sample(s) of {len(samples)}")

# The fields the runtime reports in /_sim/health: their absence is a failure, never a pass.
def field(name):
    vals = [(s["health"] or {}).get(name) for s in samples]
    return None if any(v is None for v in vals) or not vals else vals
lag = field("lagMs")
if lag is None:
    check("clock lag", False, "/_sim/health has no lagMs: this build does not report the clock's lag")
else:
    check("clock lag", max(lag) <= lag_max, f"lag at most {max(lag)} ms (bounded by {lag_max:.0f} ms), last {lag[-1]} ms")
delivered, dropped, queued = field("pushDelivered"), field("pushDropped"), field("pushQueued")
if delivered is None:
    check("deliveries", False, "/_sim/health has no pushDelivered: deliveries cannot be counted")
else:
    check("deliveries", delivered[-1] > delivered[0], f"{delivered[-1]} delivered ({delivered[-1] - delivered[0]} during the samples)")
if dropped is None or queued is None:
    check("drops", False, "/_sim/health has no pushDropped/pushQueued: drops cannot be told from a slow receiver")
else:
    early = [samples[i]["t"] for i in range(1, len(samples))
             if dropped[i] > dropped[i - 1] and max(queued[i], queued[i - 1]) < queue_full]
    check("drops", not early, f"{dropped[-1]} dropped; dropped while fewer than {queue_full:.0f} were queued at {early or 'no'} sample(s)")
passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
PY
tail -1 "$OUT/summary.txt" | grep -q ', 0 failed$'
