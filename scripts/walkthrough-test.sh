#!/usr/bin/env bash
# Runs every walk-through of the docs (README.md and docs/*.md: the ```sh blocks marked
# <!-- walkthrough -->) against a fresh release binary, command by command, and compares each
# answer with the one the page shows (scripts/walkthrough.py says how blocks are written).
#
#   scripts/walkthrough-test.sh                  # all of them
#   scripts/walkthrough-test.sh docs/testing.md  # one page
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BAJIE_SIM_BIN:-}" ]; then
  cargo build --release --quiet --bin bajie-sim
  BAJIE_SIM_BIN=target/release/bajie-sim
fi
if [ $# -eq 0 ]; then
  set -- README.md docs/*.md
fi
timeout 600 python3 scripts/walkthrough.py "$BAJIE_SIM_BIN" "$@"
