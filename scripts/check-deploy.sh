#!/usr/bin/env bash
# CI check of deploy/ (docs/scale.md): the generated files are what scripts/cluster.sh
# generates now; nginx -t accepts the local cluster's configuration, deploy/nginx/nginx.conf
# and the ingress-nginx snippets; the Kubernetes manifests validate offline against the
# Kubernetes schemas (kubernetes-validate, from PyPI, bundles them) and the compose file
# against the Compose specification (check-jsonschema's bundled copy). Installs nginx-light
# (Debian) and the two validators (PyPI) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0
ok() { echo "ok: $*"; PASS=$((PASS + 1)); }
bad() { echo "FAILED: $*"; FAIL=$((FAIL + 1)); }

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
# Run as modules of this python3: no dependence on where pip puts scripts.
python3 -m kubernetes_validate --version >/dev/null 2>&1 || python3 -m pip install -q kubernetes-validate >/dev/null 2>&1
python3 -m check_jsonschema --version >/dev/null 2>&1 || python3 -m pip install -q check-jsonschema >/dev/null 2>&1

nginx_t() { # name, config file
  if "$NGINX" -t -q -p "$WORK" -e "$WORK/error.log" -c "$2" 2>"$WORK/t.err"; then ok "nginx -t: $1"; else
    cat "$WORK/t.err"
    bad "nginx -t: $1"
  fi
}

# 1. deploy/ is what the generator makes.
cp -r deploy "$WORK/deploy.committed"
scripts/cluster.sh deploy >/dev/null
if diff -r "$WORK/deploy.committed" deploy >"$WORK/diff"; then ok "deploy/ is up to date with scripts/cluster.sh deploy"; else
  cat "$WORK/diff"
  bad "deploy/ differs from scripts/cluster.sh deploy (run it and commit)"
fi

# 2. nginx -t: a local cluster's configuration (1 and 3 shards, default and generated accounts).
mkdir -p "$WORK/tmp"
scripts/cluster.sh config 1 --listen 127.0.0.1:18080 --prefix "$WORK" >"$WORK/one.conf"
nginx_t "1 shard, demo and acme" "$WORK/one.conf"
scripts/cluster.sh config 3 --agents 1000 --listen 127.0.0.1:18080 --prefix "$WORK" >"$WORK/three.conf"
nginx_t "3 shards, 1000 agents" "$WORK/three.conf"

# deploy/nginx/nginx.conf names the compose services, which only resolve on the compose
# network: test it with them replaced by loopback addresses.
sed -E 's/server shard([0-9]+):8080;/server 127.0.0.1:1808\1;/' deploy/nginx/nginx.conf >"$WORK/compose.conf"
nginx_t "deploy/nginx/nginx.conf" "$WORK/compose.conf"

# The ingress-nginx snippets, inside the http and server blocks the controller generates
# (which set a resolver).
python3 - "$WORK" <<'EOF'
import sys, yaml
work = sys.argv[1]
docs = list(yaml.safe_load_all(open("deploy/kubernetes/ingress.yaml")))
http = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["http-snippet"]
server = next(d for d in docs if d["kind"] == "Ingress")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/server-snippet"]
open(f"{work}/ingress.conf", "w").write(
    "events {}\nhttp {\n resolver 127.0.0.1 valid=30s;\n" + http
    + "\n server {\n  listen 127.0.0.1:18080;\n" + server
    + "\n  location / { return 200; }\n }\n}\n")
EOF
nginx_t "ingress-nginx snippets of deploy/kubernetes/ingress.yaml" "$WORK/ingress.conf"

# 3. Kubernetes manifests, offline, strict (unknown fields refused).
if python3 -m kubernetes_validate --strict --quiet deploy/kubernetes/*.yaml; then ok "kubernetes-validate --strict deploy/kubernetes/*.yaml"; else
  bad "kubernetes-validate deploy/kubernetes/*.yaml"
fi
# The StatefulSet's shard count agrees with its replicas and with the generated routing.
replicas=$(sed -n 's/^  replicas: \([0-9]*\)$/\1/p' deploy/kubernetes/statefulset.yaml)
if grep -q "value: \"\$(POD_INDEX)/$replicas\"" deploy/kubernetes/statefulset.yaml &&
  grep -q "StatefulSet of $replicas shards" deploy/kubernetes/ingress.yaml; then
  ok "StatefulSet replicas ($replicas) = its --shard count = the ingress routing's"
else
  bad "the shard count differs between statefulset.yaml and ingress.yaml"
fi

# 4. Compose file against the Compose specification.
if python3 -m check_jsonschema -q --builtin-schema vendor.compose-spec deploy/docker-compose.yml; then
  ok "check-jsonschema (compose-spec) deploy/docker-compose.yml"
else
  bad "deploy/docker-compose.yml is not a valid compose file"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
