# Helpers the benchmark scripts source (bench.sh, bench-fleet.sh, bench-instructions.sh,
# perf-atomics.sh): start-up of a simulator they launched, and the fleet's online cabinets.
# Bash; loopback only.

# The URL a simulator writes to its log `$1` once it listens, waiting up to `$2` tries of `$3`
# seconds each; empty when it never does.
server_url() {
  local log=$1 tries=$2 pause=$3 url=""
  for _ in $(seq 1 "$tries"); do
    url=$(grep -ao 'http://[0-9.:]*' "$log" | head -1 || true)
    [ -n "$url" ] && break
    sleep "$pause"
  done
  printf '%s' "$url"
}

# The demo account's online cabinets of the simulator at `$1`, one id a line.
online_cabinets() {
  curl -s -u demo:demo "$1/cdb-open-api/v1/cabinet/getAllDevice" \
    | python3 -c 'import json,sys; [print(r["pCabinetid"]) for r in json.load(sys.stdin)["data"] if r["pOnline"]]'
}
