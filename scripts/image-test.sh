#!/usr/bin/env bash
# Builds the runtime stage of the Dockerfile with podman from the release binary and proves the
# image self-contained, without running a container (cgroups are not available on the CI
# machines): a created container's root filesystem is exported, then the binary runs in it under
# chroot as the image's user and answers GET /_sim/health, and the image's HEALTHCHECK command
# (`bajie-sim probe`) succeeds against it.
#
# The Dockerfile's build stage needs the rust image from a registry; CI builds the same runtime
# stage (everything from `FROM scratch` on, read from the Dockerfile) over a context laid out by
# the same scripts/image-rootfs.sh, from target/release/bajie-sim (cargo build --release first: a no-op when up to date).
# Installs Debian's podman when missing. Root only (chroot).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DEBIAN_FRONTEND=noninteractive

if ! command -v podman >/dev/null 2>&1; then
  echo "== apt-get install podman"
  apt-get update -qq && apt-get install -y -qq podman >/dev/null
fi
cargo build --release --quiet --bin bajie-sim

mkdir -p target && WORK=$(mktemp -d "$ROOT/target/image-test.XXXXXX")
TAG=localhost/bajie-sim:image-test-$$
CID=
SIM_PID=
cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  if [ -n "$CID" ]; then podman rm -f "$CID" >/dev/null 2>&1 || true; fi
  podman rmi -f "$TAG" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "image-test: $*" >&2; exit 1; }

echo "== runtime stage of the Dockerfile, from target/release/bajie-sim"
bash scripts/image-rootfs.sh target/release/bajie-sim "$WORK/ctx"
# `COPY --from=build [--chown=..] /out/X` becomes `COPY [--chown=..] X`: the same files, from this context.
sed -n '/^FROM scratch/,$p' Dockerfile | sed -e 's| --from=build||' -e 's| /out/| |' >"$WORK/ctx/Containerfile"
grep -q '^FROM scratch' "$WORK/ctx/Containerfile" || fail "the Dockerfile has no FROM scratch stage"
if grep -q -- '--from=' "$WORK/ctx/Containerfile"; then fail "a COPY --from the build stage is not from /out"; fi
podman build -q --format docker -t "$TAG" -f "$WORK/ctx/Containerfile" "$WORK/ctx" >/dev/null

echo "== image metadata"
inspect() { podman image inspect --format "$1" "$TAG"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || fail "user is '$(inspect '{{.Config.User}}')', not 10001:10001"
inspect '{{json .Config.Env}}' | grep -q '"BAJIE_SIM_BIND=0.0.0.0:8080"' || fail "BAJIE_SIM_BIND is not 0.0.0.0:8080"
inspect '{{json .Config.ExposedPorts}}' | grep -q '8080/tcp' || fail "port 8080 is not exposed"
HEALTH=$(inspect '{{json .Config.Healthcheck.Test}}')
[ "$HEALTH" = '["CMD","/usr/local/bin/bajie-sim","probe"]' ] || fail "health check is $HEALTH"
echo "user 10001:10001, BAJIE_SIM_BIND=0.0.0.0:8080, 8080/tcp, health check $HEALTH, $(inspect '{{.Size}}') bytes"

echo "== export a created container's root filesystem"
CID=$(podman create "$TAG")
mkdir "$WORK/rootfs"
podman export "$CID" | tar -x -C "$WORK/rootfs"
find "$WORK/rootfs" -mindepth 1 \( -type f -o -type l \) -printf '/%P\n' | sort
[ "$(stat -c %u "$WORK/rootfs/data")" = 10001 ] || fail "/data is not owned by 10001"
[ ! -e "$WORK/rootfs/bin/sh" ] || fail "the image has a shell"

echo "== run it under chroot as 10001:10001"
# Inside a container it would bind 0.0.0.0:8080; here a free loopback port (the machine is shared).
CHROOT=$(command -v chroot)
IN_IMAGE=(env -i PATH=/usr/local/bin "$CHROOT" --userspec=10001:10001 "$WORK/rootfs")
"${IN_IMAGE[@]}" /usr/local/bin/bajie-sim --version
"${IN_IMAGE[@]}" /usr/local/bin/bajie-sim --bind 127.0.0.1:0 --seed 42 --frozen --no-sim \
  --state-file /data/world.json >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
URL=
for _ in $(seq 1 200); do
  URL=$(sed -n 's/^bajie-sim listening on \(http:\/\/[^ ]*\)$/\1/p' "$WORK/sim.out" | head -1)
  [ -n "$URL" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/sim.err" >&2; fail "the binary did not start in the image's root filesystem"; }
HEALTH_BODY=$(curl -fsS "$URL/_sim/health")
echo "$HEALTH_BODY"
echo "$HEALTH_BODY" | grep -q '"status":"up"' || fail "/_sim/health did not answer up"
ADDR=${URL#http://}
# The health check as the image runs it: BAJIE_SIM_BIND=0.0.0.0:PORT asked on loopback.
env -i PATH=/usr/local/bin BAJIE_SIM_BIND="0.0.0.0:${ADDR##*:}" "$CHROOT" --userspec=10001:10001 "$WORK/rootfs" \
  /usr/local/bin/bajie-sim probe || fail "the health check command failed"
kill -TERM "$SIM_PID"
wait "$SIM_PID" || fail "the simulator did not stop cleanly"
SIM_PID=
[ -s "$WORK/rootfs/data/world.json" ] || fail "the state file was not saved to /data as user 10001"
echo "image-test: ok"
