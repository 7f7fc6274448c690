#!/usr/bin/env python3
"""Writes the generated half of docs/api-reference.md from openapi/openapi.json (the document the
simulator serves at /_sim/openapi.json): every operation with its parameters, request body and
answer fields, then every data shape. The hand-written half above the marker line is kept.

    python3 scripts/api-reference.py          # rewrite docs/api-reference.md
    python3 scripts/api-reference.py --check  # fail when the file differs from what it would write (CI)
"""

import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOC = os.path.join(ROOT, "docs", "api-reference.md")
SPEC = os.path.join(ROOT, "openapi", "openapi.json")
MARKER = "<!-- Everything below is generated from openapi/openapi.json by scripts/api-reference.py; do not edit it by hand. -->"
PREFIX = "/cdb-open-api/v1"


def cell(text):
    """A table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def type_of(schema, spec):
    """A short type for a schema: `string`, `integer`, `DeviceRow[]`, `string (enum: a, b)`."""
    if schema is None:
        return ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(type_of(s, spec) for s in schema[key])
    t = schema.get("type", "any")
    if isinstance(t, list):
        t = " or ".join(t)
    if t == "array":
        return type_of(schema.get("items", {}), spec) + "[]"
    if schema.get("nullable"):
        t += " or null"
    if "enum" in schema:
        t += " (" + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"]) + ")"
    return t


def fields(schema, spec, prefix=""):
    """Rows (name, type, required, description) of an object schema, nested inline objects
    flattened with dotted names."""
    rows = []
    if not schema or "properties" not in schema:
        return rows
    required = set(schema.get("required", []))
    for name, sub in schema["properties"].items():
        full = prefix + name
        rows.append((full, type_of(sub, spec), "yes" if name in required else "", sub.get("description", "")))
        if sub.get("type") == "object" and "properties" in sub:
            rows.extend(fields(sub, spec, full + "."))
        if sub.get("type") == "array" and "properties" in sub.get("items", {}):
            rows.extend(fields(sub["items"], spec, full + "[]."))
    return rows


def field_table(rows):
    out = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, t, req, desc in rows:
        out.append(f"| `{name}` | {cell(t)} | {req} | {cell(desc)} |")
    return out


def resolve(obj, spec):
    """Follow a local `$ref` (parameters, responses)."""
    while isinstance(obj, dict) and "$ref" in obj and obj["$ref"].startswith("#/components/") and obj["$ref"].count("/") == 3:
        _, _, kind, name = obj["$ref"].split("/")
        if kind == "schemas":
            return obj
        obj = spec["components"][kind][name]
    return obj


def success_schema(op, spec):
    """The success branch of a 200 answer's schema (the first `anyOf` member that is not the
    business error)."""
    r = resolve(op.get("responses", {}).get("200", {}), spec)
    for media, body in r.get("content", {}).items():
        s = body.get("schema", {})
        branches = s.get("anyOf") or s.get("oneOf") or [s]
        for b in branches:
            if b.get("$ref", "").endswith("/BusinessError"):
                continue
            return media, b
    return None, None


def operation(path, method, op, spec):
    shown = path[len(PREFIX):] if path.startswith(PREFIX) else path
    out = [f"### {cell(op.get('summary', ''))}", "", f"`{method.upper()} {shown}`" + ("" if op.get("security", None) != [] else " (no authentication)"), ""]
    if op.get("description"):
        out += [op["description"], ""]
    params = [resolve(p, spec) for p in op.get("parameters", [])]
    if params:
        out += ["| parameter | in | type | required | meaning |", "|---|---|---|---|---|"]
        for p in params:
            ex = f" Example: `{p['example']}`." if "example" in p else ""
            out.append(
                f"| `{p['name']}` | {p['in']} | {cell(type_of(p.get('schema'), spec))} | {'yes' if p.get('required') else ''} | {cell(p.get('description', '') + ex)} |"
            )
        out.append("")
    body = op.get("requestBody")
    if body:
        body = resolve(body, spec)
        for media, content in body.get("content", {}).items():
            s = content.get("schema", {})
            out.append(f"Request body (`{media}`{', required' if body.get('required') else ''}): {cell(type_of(s, spec))}." + (f" {cell(body.get('description', ''))}" if body.get("description") else ""))
            rows = fields(s, spec)
            if rows:
                out += [""] + field_table(rows)
            out.append("")
    media, ok = success_schema(op, spec)
    if ok is not None:
        rows = fields(ok, spec)
        if rows:
            out += [f"Answer (`{media}`) on success:", ""] + field_table(rows) + [""]
        else:
            out += [f"Answer (`{media}`) on success: {cell(type_of(ok, spec))}.", ""]
    return out


def generate(spec):
    out = [MARKER, ""]
    groups = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "put", "delete", "patch"):
                groups.setdefault((op.get("tags") or ["Other"])[0], []).append((path, method, op))
    for tag in [t["name"] for t in spec.get("tags", [])] + sorted(set(groups) - {t["name"] for t in spec.get("tags", [])}):
        if tag not in groups:
            continue
        out += [f"## {tag}", ""]
        for path, method, op in groups[tag]:
            out += operation(path, method, op, spec)
    out += ["## Data shapes", ""]
    for name, s in spec["components"]["schemas"].items():
        out += [f"### {name}", ""]
        if s.get("description"):
            out += [s["description"], ""]
        rows = fields(s, spec)
        out += (field_table(rows) if rows else [f"Type: {cell(type_of(s, spec))}."]) + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    spec = json.load(open(SPEC, encoding="utf-8"))
    current = open(DOC, encoding="utf-8").read()
    head = current.split(MARKER, 1)[0]
    new = head + generate(spec)
    if "--check" in sys.argv:
        if new != current:
            sys.exit("docs/api-reference.md is not what scripts/api-reference.py generates from openapi/openapi.json; run it")
        print("docs/api-reference.md matches openapi/openapi.json")
        return
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)


if __name__ == "__main__":
    main()
