#!/usr/bin/env bash
# bajie-sim as a cluster: S simulator processes, each owning the accounts of its shard
# (--shard K/S), behind nginx, which routes every request to the shard of its account. See
# docs/scale.md.
#
#   scripts/cluster.sh up S [simulator flags]   start S shards and nginx on 127.0.0.1; prints
#                                               "bajie-sim cluster listening on http://HOST:PORT"
#   scripts/cluster.sh down                     stop them
#   scripts/cluster.sh sim METHOD PATH [BODY]   fan-out: METHOD /_sim/PATH on every shard, one
#                                               line per shard; exit 1 unless every shard answers
#                                               HTTP 2xx with code 0 (a cluster elsewhere:
#                                               BAJIE_CLUSTER_URL and BAJIE_CLUSTER_SHARDS)
#   scripts/cluster.sh stop-shard K             stop shard K only (its accounts then get 502)
#   scripts/cluster.sh config S [options]       print an nginx configuration for S shards
#   scripts/cluster.sh ingress S [options]      print the ingress-nginx snippets (Kubernetes)
#   scripts/cluster.sh deploy                   regenerate deploy/ (3 shards, 30 agents)
#   scripts/cluster.sh shard-of NAME S          the shard of an account
#
# Options of config / ingress:
#   --agents M            accounts agent0001..agentM (default: demo acme, or $BAJIE_CLUSTER_ACCOUNTS)
#   --accounts "A B"      these accounts instead (Basic routing needs password = account name)
#   --listen ADDR         nginx listen address (config; default 127.0.0.1:8080)
#   --servers LIST        comma-separated shard addresses in shard order (config; default
#                         127.0.0.1:8081,127.0.0.1:8082,...)
#   --prefix DIR          pid file, error log and temp dirs under DIR (config; default: nginx's)
#   --namespace NS        Kubernetes namespace of the StatefulSet (ingress; default bajie-sim)
#
# BAJIE_CLUSTER_NGINX_WORKERS=N: nginx worker processes (default auto: one per core).
# BAJIE_CLUSTER_KEEPALIVE=N: idle connections each nginx worker keeps to each shard (default
# 64; 0 turns upstream keep-alive off, to measure what it saves).
# `up` runs target/release/bajie-sim (BAJIE_SIM_BIN to override; built when missing) and
# Debian's nginx (installed with apt-get when missing and root). Everything it writes is under
# target/cluster/. BAJIE_CLUSTER_PORT picks nginx's port (default: a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/target/cluster"
BIN=${BAJIE_SIM_BIN:-target/release/bajie-sim}

die() {
  echo "cluster.sh: $*" >&2
  exit 2
}

# The shard of account $1 among $2: FNV-1a 64 of the name's bytes, modulo the count
# (src/model/shard.rs). Bash arithmetic is 64-bit two's complement, so the multiply wraps like
# the unsigned one; the modulo is taken of the unsigned value.
shard_of() {
  local LC_ALL=C name=$1 count=$2 h=$((0xcbf29ce484222325)) i c hi
  for ((i = 0; i < ${#name}; i++)); do
    printf -v c '%d' "'${name:i:1}"
    h=$(((h ^ (c & 255)) * 0x100000001b3))
  done
  hi=$(((h >> 1) & 0x7FFFFFFFFFFFFFFF))
  echo $((((hi % count) * 2 + (h & 1)) % count))
}

# Account names from --agents / --accounts / the environment.
accounts_of() {
  local agents=$1 accounts=$2 i
  if [ -n "$accounts" ]; then
    echo "$accounts"
  elif [ -n "$agents" ]; then
    for ((i = 1; i <= agents; i++)); do printf 'agent%04d ' "$i"; done
    echo
  else
    echo "${BAJIE_CLUSTER_ACCOUNTS:-demo acme}"
  fi
}

basic_of() {
  printf 'Basic %s' "$(printf '%s:%s' "$1" "$1" | base64 -w0)"
}

# The two maps that route a request. $1: shard count, $2: accounts, $3: value of shard K
# (a printf pattern with %d), $4: value for an unknown account.
routing_maps() {
  local n=$1 accounts=$2 pattern=$3 any=$4 a k
  echo "    # A1 (POST /oauth2/login) carries the account in its username argument."
  echo "    map \$arg_username \$bajie_by_user {"
  echo "        default $any;"
  for a in $accounts; do
    printf "        %-24s $pattern;\n" "\"$a\"" "$(shard_of "$a" "$n")"
  done
  echo "    }"
  echo "    # Basic credentials are fixed per account (password = account name); bearer tokens"
  echo "    # from A1 start with sK- (K: the shard that issued them). Anything else goes to any"
  echo "    # shard, which answers the platform's 401 for an account it does not know."
  echo "    map \$http_authorization \$bajie_route {"
  echo "        default \$bajie_by_user;"
  for a in $accounts; do
    printf "        %-48s $pattern;\n" "\"$(basic_of "$a")\"" "$(shard_of "$a" "$n")"
  done
  for ((k = 0; k < n; k++)); do
    printf "        %-48s $pattern;\n" "\"~*^bearer\\s+s$k-\"" "$k"
  done
  echo "    }"
}

# The answer of /_sim/ on the balancer itself.
sim_hint() {
  local n=$1
  printf '{"msg":"bajie-sim cluster of %d shards: the control API of shard K is /_sim/shard/K/ (K from 0 to %d); scripts/cluster.sh sim METHOD PATH calls every shard.","code":404}' "$n" "$((n - 1))"
}

# The upstream keep-alive lines: idle connections kept per worker, closed by nginx (60 s)
# before the simulator's own idle timeout (75 s) would close them under a request being sent,
# which nginx would answer 502, having no other server of the shard to retry on.
keepalive_lines() {
  [ "$keepalive" = 0 ] && return 0
  echo "        keepalive $keepalive;"
  echo "        keepalive_timeout 60s;"
}

# An nginx configuration: see the options above.
gen_config() {
  local n="" agents="" accounts="" listen=127.0.0.1:8080 servers="" prefix="" k
  # Idle keep-alive connections each nginx worker keeps per upstream (0: none, for comparison).
  local keepalive=${BAJIE_CLUSTER_KEEPALIVE:-64}
  n=${1:-}
  [ -n "$n" ] && shift || true
  while [ $# -gt 0 ]; do
    case $1 in
      --agents) agents=$2; shift 2 ;;
      --accounts) accounts=$2; shift 2 ;;
      --listen) listen=$2; shift 2 ;;
      --servers) servers=$2; shift 2 ;;
      --prefix) prefix=$2; shift 2 ;;
      *) die "config: unknown option $1" ;;
    esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100 ] || die "config: the shard count must be 1..100"
  local list=()
  if [ -n "$servers" ]; then
    IFS=, read -r -a list <<<"$servers"
  else
    for ((k = 0; k < n; k++)); do list+=("127.0.0.1:$((8081 + k))"); done
  fi
  [ "${#list[@]}" -eq "$n" ] || die "config: --servers names ${#list[@]} addresses for $n shards"
  local names
  names=$(accounts_of "$agents" "$accounts")
  cat <<EOF
# bajie-sim cluster: $n shards behind nginx. Generated by scripts/cluster.sh config; see
# docs/scale.md. Every request goes to the shard of its account (FNV-1a 64 of the account
# name, modulo $n); /_sim/shard/K/ is shard K's control API.
worker_processes ${BAJIE_CLUSTER_NGINX_WORKERS:-auto};
EOF
  if [ -n "$prefix" ]; then
    echo "pid $prefix/nginx.pid;"
    echo "error_log $prefix/error.log warn;"
  else
    echo "error_log /dev/stderr warn;"
  fi
  cat <<EOF

events {
    # Each client connection uses a second one to its shard.
    worker_connections 8192;
}

http {
    access_log off;
EOF
  if [ -n "$prefix" ]; then
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $prefix/tmp/$t;"; done
  fi
  cat <<EOF
    # Room for 2,000 "Basic ..." keys and more.
    map_hash_max_size 65536;
    map_hash_bucket_size 128;
    # PUT /_sim/state carries a whole world.
    client_max_body_size 1g;
    keepalive_requests 100000;
    # Keep-alive connections to the shards (with the upstream keepalive below): without it
    # every request opens a new TCP connection to its shard.
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    # /_sim/pushes/wait waits up to 120 s; a long clock advance takes a while.
    proxy_read_timeout 300s;

EOF
  for ((k = 0; k < n; k++)); do
    echo "    upstream bajie_shard_$k {"
    echo "        server ${list[$k]};"
    keepalive_lines
    echo "    }"
  done
  echo "    # Requests of no known account: any live shard answers the platform's 401."
  echo "    upstream bajie_any {"
  for ((k = 0; k < n; k++)); do echo "        server ${list[$k]};"; done
  keepalive_lines
  echo "    }"
  echo
  routing_maps "$n" "$names" "bajie_shard_%d" bajie_any
  cat <<EOF

    server {
        listen $listen;

        location / {
            proxy_pass http://\$bajie_route;
        }
EOF
  for ((k = 0; k < n; k++)); do
    echo "        location /_sim/shard/$k/ {"
    echo "            proxy_pass http://bajie_shard_$k/_sim/;"
    echo "        }"
  done
  cat <<EOF
        location /_sim/ {
            default_type application/json;
            return 404 '$(sim_hint "$n")';
        }
    }
}
EOF
}

# The ingress-nginx snippets: a ConfigMap http-snippet with the maps, an Ingress whose
# server-snippet proxies to the StatefulSet's pods by name (bajie-sim-K.bajie-sim).
gen_ingress() {
  local n="" agents="" accounts="" ns=bajie-sim
  n=${1:-}
  [ -n "$n" ] && shift || true
  while [ $# -gt 0 ]; do
    case $1 in
      --agents) agents=$2; shift 2 ;;
      --accounts) accounts=$2; shift 2 ;;
      --namespace) ns=$2; shift 2 ;;
      *) die "ingress: unknown option $1" ;;
    esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100 ] || die "ingress: the shard count must be 1..100"
  local names host="svc.cluster.local" k
  names=$(accounts_of "$agents" "$accounts")
  cat <<EOF
# ingress-nginx routing for a bajie-sim StatefulSet of $n shards. Generated by
# scripts/cluster.sh ingress; see docs/scale.md. The maps go into the controller's ConfigMap
# (http-snippet); the Ingress's server-snippet needs allow-snippet-annotations: "true" (and,
# on controller 1.12+, annotations-risk-level: Critical) in that ConfigMap.
apiVersion: v1
kind: ConfigMap
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
data:
  allow-snippet-annotations: "true"
  annotations-risk-level: Critical
  http-snippet: |
EOF
  routing_maps "$n" "$names" "bajie-sim-%d.bajie-sim" "bajie-sim" | sed 's/^/  /'
  cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bajie-sim
  namespace: $ns
  annotations:
    nginx.ingress.kubernetes.io/proxy-read-timeout: "300"
    nginx.ingress.kubernetes.io/proxy-body-size: 1g
    nginx.ingress.kubernetes.io/server-snippet: |
      # The shard of the request's account (maps in the controller's http-snippet); pod
      # names resolve through the cluster DNS (the controller's resolver).
      location /cdb-open-api/ {
          proxy_pass http://\$bajie_route.$ns.$host:8080;
      }
      location ~ ^/_sim/shard/([0-9]+)(/.*)\$ {
          proxy_pass http://bajie-sim-\$1.bajie-sim.$ns.$host:8080/_sim\$2\$is_args\$args;
      }
      location /_sim/ {
          default_type application/json;
          return 404 '$(sim_hint "$n")';
      }
spec:
  ingressClassName: nginx
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: bajie-sim
                port:
                  number: 8080
EOF
}

# Regenerate deploy/ (3 shards, 30 agents).
gen_deploy() {
  local servers="shard0:8080,shard1:8080,shard2:8080"
  gen_config 3 --agents 30 --listen 8080 --servers "$servers" >deploy/nginx/nginx.conf
  gen_ingress 3 --agents 30 >deploy/kubernetes/ingress.yaml
  echo "deploy/nginx/nginx.conf and deploy/kubernetes/ingress.yaml regenerated"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait (deadline $2 s) for the listening line in file $1; print the URL.
wait_listening() {
  local file=$1 deadline=$((SECONDS + $2)) url
  while [ $SECONDS -lt $deadline ]; do
    url=$(sed -n 's/^bajie-sim listening on //p' "$file" 2>/dev/null | head -1)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

ensure_nginx() {
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && return 0
  [ "$(id -u)" = 0 ] || die "nginx is missing: apt-get install nginx-light"
  echo "installing nginx-light (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
}

NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

cmd_up() {
  local n=${1:-}
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100 ] || die "up: the shard count must be 1..100"
  shift
  [ -e "$DIR/shards" ] && die "a cluster is up already (scripts/cluster.sh down first)"
  if [ ! -x "$BIN" ]; then cargo build --release >&2; fi
  ensure_nginx
  mkdir -p "$DIR/tmp"
  local agents="" args=("$@") i
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[$i]} in
      --agents) agents=${args[$((i + 1))]:-} ;;
      --agents=*) agents=${args[$i]#--agents=} ;;
    esac
  done
  agents=${agents:-${BAJIE_SIM_AGENTS:-}}
  echo "$n" >"$DIR/shards"
  local servers="" k url
  for ((k = 0; k < n; k++)); do
    "$BIN" --bind 127.0.0.1:0 "$@" --shard "$k/$n" >"$DIR/shard$k.out" 2>"$DIR/shard$k.log" &
    echo $! >"$DIR/shard$k.pid"
  done
  for ((k = 0; k < n; k++)); do
    url=$(wait_listening "$DIR/shard$k.out" 300) || {
      cat "$DIR/shard$k.log" >&2
      cmd_down >/dev/null
      die "shard $k did not start"
    }
    echo "$url" >"$DIR/shard$k.url"
    servers="$servers${servers:+,}${url#http://}"
  done
  local port=${BAJIE_CLUSTER_PORT:-$(free_port)}
  gen_config "$n" ${agents:+--agents "$agents"} --listen "127.0.0.1:$port" --servers "$servers" --prefix "$DIR" \
    >"$DIR/nginx.conf"
  "$NGINX" -q -t -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf"
  "$NGINX" -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf"
  echo "http://127.0.0.1:$port" >"$DIR/url"
  echo "bajie-sim cluster listening on http://127.0.0.1:$port"
  echo "control: http://127.0.0.1:$port/_sim/shard/K/ for K in 0..$((n - 1)); fan-out to every shard: scripts/cluster.sh sim METHOD PATH"
}

cmd_down() {
  if [ -f "$DIR/nginx.pid" ]; then
    kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
  fi
  local f pid
  for f in "$DIR"/shard*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
  done
  # Wait for them to be gone (graceful shutdown takes up to a few seconds).
  local deadline=$((SECONDS + 15))
  for f in "$DIR"/shard*.pid "$DIR/nginx.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$DIR/shards" "$DIR/url" "$DIR"/shard*.url
  echo "bajie-sim cluster stopped"
}

cmd_stop_shard() {
  local k=${1:-} f
  f="$DIR/shard$k.pid"
  [ -f "$f" ] || die "stop-shard: no shard $k is running"
  kill "$(cat "$f")" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$(cat "$f")" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  rm -f "$f"
  echo "shard $k stopped"
}

# Fan-out: METHOD /_sim/PATH on every shard through the balancer (or straight to the shards
# with BAJIE_CLUSTER_DIRECT=1). A JSON body may follow. Prints "shard K: HTTP <status> <body>".
cmd_sim() {
  local method=${1:-} path=${2:-} body=${3:-}
  [ -n "$method" ] && [ -n "$path" ] || die "sim: METHOD PATH [BODY], e.g. sim POST /reset"
  local n base k out status rest failed=0 url
  if [ -n "${BAJIE_CLUSTER_URL:-}" ]; then
    # A cluster elsewhere (docker compose, Kubernetes): its balancer and shard count.
    base=$BAJIE_CLUSTER_URL
    n=${BAJIE_CLUSTER_SHARDS:?BAJIE_CLUSTER_SHARDS: the shard count of BAJIE_CLUSTER_URL}
  else
    [ -f "$DIR/shards" ] || die "sim: no cluster is up (or set BAJIE_CLUSTER_URL and BAJIE_CLUSTER_SHARDS)"
    n=$(cat "$DIR/shards")
    base=$(cat "$DIR/url")
  fi
  path=/${path#/}
  path=${path#/_sim}
  for ((k = 0; k < n; k++)); do
    if [ "${BAJIE_CLUSTER_DIRECT:-0}" = 1 ]; then url="$(cat "$DIR/shard$k.url" 2>/dev/null)/_sim$path"; else url="$base/_sim/shard/$k$path"; fi
    if [ -n "$body" ]; then
      out=$(curl -s -m 310 -X "$method" -H 'content-type: application/json' --data "$body" -w '\n%{http_code}' "$url" || true)
    else
      out=$(curl -s -m 310 -X "$method" -w '\n%{http_code}' "$url" || true)
    fi
    status=${out##*$'\n'}
    rest=${out%$'\n'*}
    echo "shard $k: HTTP $status $rest"
    case $status in
      2*) [[ "$rest" =~ \"code\":0[,}] ]] || [[ "$rest" != *'"code"'* ]] || failed=1 ;;
      *) failed=1 ;;
    esac
  done
  return $failed
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  sim) shift; cmd_sim "$@" ;;
  stop-shard) shift; cmd_stop_shard "$@" ;;
  config) shift; gen_config "$@" ;;
  ingress) shift; gen_ingress "$@" ;;
  deploy) gen_deploy ;;
  shard-of) shard_of "${2:?account}" "${3:?shard count}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep -v '^set -euo' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
