#!/usr/bin/env bash
# Checks that the OpenAPI document imports as a Postman collection (which Postman, Bruno,
# Insomnia and newman read): converts openapi/openapi.json with openapi-to-postmanv2 (pinned,
# from npm, installed under target/ when missing) and checks that the result is a v2.1
# collection with a baseUrl variable, Basic auth, and one request per documented operation,
# each with the operation's method and path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=6.3.3
NPM_DIR=target/npm-openapi-to-postmanv2
if [ "$(node -p "require('./$NPM_DIR/node_modules/openapi-to-postmanv2/package.json').version" 2>/dev/null)" != "$VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
  echo "== npm install openapi-to-postmanv2@$VERSION"
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --silent --no-audit --no-fund --no-save "openapi-to-postmanv2@$VERSION" >/dev/null)
fi
OUT=$(mktemp -d "$PWD/target/postman-test.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
"$NPM_DIR/node_modules/.bin/openapi2postmanv2" -s openapi/openapi.json -o "$OUT/collection.json" -p \
  -O folderStrategy=Tags >/dev/null
python3 - openapi/openapi.json "$OUT/collection.json" <<'PY'
import json, re, sys
spec = json.load(open(sys.argv[1]))
coll = json.load(open(sys.argv[2]))
assert coll["info"]["schema"].endswith("/v2.1.0/collection.json"), coll["info"]["schema"]
assert any(v["key"] == "baseUrl" for v in coll.get("variable", [])), coll.get("variable")
assert coll.get("auth", {}).get("type") == "basic", coll.get("auth")

def requests(items):
    for i in items:
        if "item" in i:
            yield from requests(i["item"])
        else:
            yield i["request"]

# Path parameters are {id} in OpenAPI and :id in Postman.
got = sorted((r["method"].upper(), "/" + "/".join(re.sub(r"^:(.*)$", r"{\1}", p) for p in r["url"]["path"]))
             for r in requests(coll["item"]))
want = sorted((m.upper(), p) for p, ops in spec["paths"].items() for m in ops
              if m in ("get", "post", "put", "delete", "patch"))
missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
assert not missing and not extra and len(got) == len(want), f"missing {missing}, extra {extra}"
print(f"postman-test: ok, {len(got)} requests in {len(coll['item'])} folders")
PY
