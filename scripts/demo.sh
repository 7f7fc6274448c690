#!/usr/bin/env bash
# One command to a lively demo world: builds the release binary, starts the simulator with the
# simulation on and virtual time at 60x (one virtual minute per real second), points every
# agent's event pushes and the simulated customers' callbacks at the simulator's own receiver
# (/_sim/ui/sink, with --push-url and --customer-callback-url, which a reset keeps) so the
# journal fills up, and prints the dashboard URL. Ctrl-C stops it.
#
#   scripts/demo.sh                       # http://127.0.0.1:8080/_sim/ui
#   scripts/demo.sh --bind 127.0.0.1:9000 --seed 7 --speed 600
#
# Extra arguments go to bajie-sim (a later flag wins over the defaults here); see --help.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building the release binary (the first build takes a few minutes)" >&2
cargo build --release --quiet

OUT=$(mktemp)
# Every agent's event pushes, and the simulated customers' rent callbacks, go to the built-in
# receiver (a path means this simulator), so the journal shows them delivered. Flags rather than
# requests after the start: a reset reloads the world with its flags, so "Reset world" in the
# dashboard keeps this wiring.
target/release/bajie-sim --speed 60 --push-url /_sim/ui/sink --customer-callback-url /_sim/ui/sink "$@" >"$OUT" &
PID=$!
stop() {
  kill -INT "$PID" 2>/dev/null || true
}
trap stop INT TERM
trap 'rm -f "$OUT"' EXIT

URL=
for _ in $(seq 1 300); do
  URL=$(sed -n 's/^bajie-sim listening on \(http:\/\/[^ ]*\)$/\1/p' "$OUT" | head -1)
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || { wait "$PID" || exit $?; exit 1; }
  sleep 0.1
done
if [ -z "$URL" ]; then
  echo "bajie-sim printed no listening line within 30 s" >&2
  stop
  wait "$PID" || true
  exit 1
fi

SEED=$(curl -fsS "$URL/_sim/health" 2>/dev/null | sed -n 's/.*"seed":\([0-9]*\).*/\1/p' || true)
cat <<EOF

  bajie-sim demo is running (seed ${SEED:-in the log}; --seed N replays the same world)

    Dashboard      $URL/_sim/ui
    Platform API   $URL/cdb-open-api/v1   (Basic demo:demo or acme:acme)
    Control API    $URL/_sim/health

  Ctrl-C stops it.

EOF
set +e
wait "$PID"
status=$?
# A Ctrl-C interrupts the first wait; wait again for the graceful shutdown to finish.
if kill -0 "$PID" 2>/dev/null; then
  wait "$PID"
  status=$?
fi
exit $status
