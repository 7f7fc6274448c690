#!/usr/bin/env bash
# Lays out the root filesystem of the bajie-sim runtime image under DEST/rootfs: the binary at
# /usr/local/bin/bajie-sim, every shared library `ldd` lists (and the dynamic loader) at its own
# path, a non-root user `bajie` (10001) and /tmp; DEST/data is the empty directory that becomes
# the image's /data (owned by that user, for --state-file). Used by the Dockerfile's build stage
# and by scripts/image-test.sh, so CI proves the layout users build.
#   scripts/image-rootfs.sh target/release/bajie-sim OUT
set -euo pipefail
BIN=$1
DEST=$2
ROOT=$DEST/rootfs
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc" "$ROOT/tmp" "$DEST/data"
chmod 1777 "$ROOT/tmp"
cp "$BIN" "$ROOT/usr/local/bin/bajie-sim"
# ldd prints "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
# "/lib64/ld-linux-x86-64.so.2 (0x...)": copy every absolute path, following symlinks.
LIBS=$(ldd "$BIN" | grep -o '/[^ ]*' | sort -u)
[ -n "$LIBS" ] || { echo "ldd lists no library for $BIN" >&2; exit 1; }
for lib in $LIBS; do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
echo 'root:x:0:0:root:/:/nonexistent' >"$ROOT/etc/passwd"
echo 'bajie:x:10001:10001:bajie-sim:/data:/nonexistent' >>"$ROOT/etc/passwd"
printf 'root:x:0:\nbajie:x:10001:\n' >"$ROOT/etc/group"
