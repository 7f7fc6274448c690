#!/usr/bin/env bash
# Builds the Python wheel (maturin, `bindings = "bin"`: the release binary plus the helper
# package python/bajie_sim), installs it into a fresh virtualenv with no network, and checks
# that `bajie-sim --version` runs from the venv and that the Python example
# (examples/python/test_rent_with_helper.py) passes against it, importing the helper from the wheel and
# starting the wheel's binary. maturin (pinned, from PyPI) goes into a virtualenv under
# target/; the build shares target/ with `cargo build --release` and prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MATURIN_VERSION=1.16.0
TOOLS=$ROOT/target/maturin-venv
if ! "$TOOLS/bin/maturin" --version 2>/dev/null | grep -q " $MATURIN_VERSION\$"; then
  echo "== installing maturin $MATURIN_VERSION into $TOOLS"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi

echo "== maturin build --release"
rm -rf target/wheels
START=$(date +%s)
"$TOOLS/bin/maturin" build --release --locked --quiet 2>&1 | grep -v '^\s*$' | tail -5
echo "maturin build took $(($(date +%s) - START)) s"
WHEELS=(target/wheels/bajie_sim-*.whl)
[ "${#WHEELS[@]}" = 1 ] && [ -f "${WHEELS[0]}" ] || { echo "expected one wheel, found: ${WHEELS[*]}" >&2; exit 1; }
WHEEL=${WHEELS[0]}
echo "$WHEEL: $(du -h "$WHEEL" | cut -f1)"
python3 -m zipfile -l "$WHEEL" | awk 'NR > 1 { print "  " $1 }'
mkdir -p ci-artifacts && cp "$WHEEL" ci-artifacts/

WORK=$(mktemp -d "$ROOT/target/wheel-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "== a fresh virtualenv with the wheel (no index)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$WHEEL"
VERSION=$("$WORK/venv/bin/bajie-sim" --version)
echo "$VERSION"
[ "$VERSION" = "bajie-sim $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)" ] || { echo "unexpected version" >&2; exit 1; }

echo "== the Python example and the helper's own tests against the wheel's binary and helper"
cp examples/python/test_rent_with_helper.py python/tests/test_helper.py "$WORK/"
cd "$WORK"
env -u BAJIE_SIM_URL -u BAJIE_SIM_BIN -u PYTHONPATH PATH=/usr/bin:/bin "$WORK/venv/bin/python" - <<'PY'
import os, sys, bajie_sim
assert bajie_sim.__file__.startswith(sys.prefix), bajie_sim.__file__
assert bajie_sim.find_binary() == os.path.join(sys.prefix, "bin", "bajie-sim"), bajie_sim.find_binary()
print("helper", bajie_sim.__file__, "binary", bajie_sim.find_binary())
PY
env -u BAJIE_SIM_URL -u BAJIE_SIM_BIN -u PYTHONPATH PATH=/usr/bin:/bin \
  timeout 180 "$WORK/venv/bin/python" -m unittest -v test_rent_with_helper test_helper
echo "wheel-test: ok"
