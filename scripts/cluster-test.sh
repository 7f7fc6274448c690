#!/usr/bin/env bash
# CI test of the cluster (docs/scale.md): 3 shards of a 600-cabinet, 12-account fleet behind
# nginx (scripts/cluster.sh up), driven by scripts/cluster-test.py through the balancer, then
# stopped. Reuses target/release/bajie-sim (built when missing). Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
scripts/cluster.sh down >/dev/null 2>&1 || true
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
OUT=$(scripts/cluster.sh up 3 --fleet 600 --agents 12 --seed 7 --no-sim --frozen --eject-delay-s 0 \
  --push-retries-ms 200,400)
echo "$OUT"
URL=$(sed -n 's/^bajie-sim cluster listening on //p' <<<"$OUT")
python3 scripts/cluster-test.py "$URL" 3 12
