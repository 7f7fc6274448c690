#!/usr/bin/env python3
"""Runs the walk-throughs of README.md and docs/*.md against a real simulator, the way a reader
types them, and compares every answer with the one the page shows.

What counts as a walk-through: a fenced ```sh block directly after the line
`<!-- walkthrough -->`. Inside such a block:

- `cargo run --release -- FLAGS` (or `bajie-sim FLAGS`) starts a fresh simulator with FLAGS
  (this script runs BIN FLAGS --bind 127.0.0.1:0 instead, and stops the previous one);
- every other command line (with `\\` continuations, or inside a '...' string spanning lines) is
  run by bash, after `127.0.0.1:8080` is
  replaced by the simulator's address and every `<name>` placeholder by the value captured
  from an earlier answer;
- the `#> ` lines right after a command are the answer the page promises. In them `<name>`
  matches one value (up to the next `"`, `&`, `,`, `}` or `]`) and captures it under that
  name (or must equal the value captured before), and `...` matches anything. The answer must
  match as a whole (`127.0.0.1:8080` in it stands for the simulator's address too). A command
  without `#> ` lines only has to exit 0;
- other `#` lines are comments.

Blocks of one file share the simulator and the captured values, in order. Usage:

    scripts/walkthrough.py BIN FILE...     # BIN: path of a built bajie-sim
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

MARK = "<!-- walkthrough -->"
DEFAULT_ADDR = "127.0.0.1:8080"
VALUE = r'[^"&,}\]]+'


class Fail(Exception):
    pass


def blocks(path):
    """The walk-through blocks of a file: (line number, [lines])."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == MARK:
            j = i + 1
            if j >= len(lines) or not lines[j].startswith("```sh"):
                raise Fail(f"{path}:{i + 1}: {MARK} must be followed by a ```sh block")
            k = j + 1
            while k < len(lines) and not lines[k].startswith("```"):
                k += 1
            found.append((j + 2, lines[j + 1 : k]))
            i = k
        i += 1
    return found


def steps(start, lines):
    """Split a block into [line number, command, [expected lines]]."""
    out, cmd, at = [], None, 0
    for n, raw in enumerate(lines, start):
        line = raw.rstrip()
        if cmd is not None and (cmd.endswith("\\") or cmd.count("'") % 2 == 1):
            cmd += "\n" + line
            continue
        if cmd is not None:
            out.append([at, cmd, []])
            cmd = None
        if line.startswith("#> ") or line == "#>":
            if not out:
                raise Fail(f"line {n}: an answer without a command")
            out[-1][2].append(line[3:])
        elif line.strip() and not line.startswith("#"):
            cmd, at = line, n
    if cmd is not None:
        out.append([at, cmd, []])
    return out


def pattern(expected, captured):
    """A regex for an expected answer, and the names it captures in order."""
    rx, names = "", []
    for part in re.split(r"(<[A-Za-z][A-Za-z0-9_]*>|\.\.\.)", expected):
        if part == "...":
            rx += ".*?"
        elif re.fullmatch(r"<[A-Za-z][A-Za-z0-9_]*>", part):
            name = part[1:-1]
            if name in captured:
                rx += re.escape(captured[name])
            elif name in names:
                rx += f"(?P={name})"
            else:
                rx += f"(?P<{name}>{VALUE})"
                names.append(name)
        else:
            rx += re.escape(part)
    return re.compile(rx, re.S), names


class Sim:
    def __init__(self, binary, flags, work):
        self.out = open(os.path.join(work, "sim.out"), "w+")
        self.err = open(os.path.join(work, "sim.err"), "w+")
        self.proc = subprocess.Popen([binary, *flags, "--bind", "127.0.0.1:0"], stdout=self.out, stderr=self.err)
        deadline = time.time() + 60
        self.addr = None
        while time.time() < deadline:
            self.out.seek(0)
            m = re.search(r"listening on http://(\S+)", self.out.read())
            if m:
                self.addr = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.err.seek(0)
        raise Fail(f"the simulator did not start with {flags}: {self.err.read()[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_flags(cmd):
    """FLAGS of a `cargo run --release -- FLAGS` or `bajie-sim FLAGS` line, else None."""
    m = re.match(r"\s*(?:cargo run --release(?: --)?|(?:\S*/)?bajie-sim)(\s.*)?$", cmd)
    if not m:
        return None
    return shlex.split(m.group(1) or "")


def run_file(binary, path, work):
    captured, sim, ran = {}, None, 0
    env = dict(os.environ)
    prelude = []
    try:
        for start, lines in blocks(path):
            for n, cmd, expected in steps(start, lines):
                where = f"{path}:{n}"
                flags = start_flags(cmd)
                if flags is not None:
                    if sim:
                        sim.stop()
                    sim = Sim(binary, flags, work)
                    captured, prelude = {}, []
                    continue
                if sim is None:
                    raise Fail(f"{where}: a command before the block that starts the simulator")
                text = cmd.replace(DEFAULT_ADDR, sim.addr)
                for name in re.findall(r"<([A-Za-z][A-Za-z0-9_]*)>", text):
                    if name not in captured:
                        raise Fail(f"{where}: <{name}> was not in an earlier answer")
                    text = text.replace(f"<{name}>", captured[name])
                script = "\n".join(prelude + [text])
                r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=150, env=env, cwd=work)
                ran += 1
                if r.returncode != 0:
                    raise Fail(f"{where}: exit status {r.returncode}\n$ {text}\n{r.stdout}{r.stderr}")
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S.*", text.strip()) and "\n" not in text.strip():
                    prelude.append(text)
                if expected:
                    want = "".join(expected).replace(DEFAULT_ADDR, sim.addr)
                    rx, names = pattern(want, captured)
                    got = r.stdout.rstrip("\n")
                    m = rx.fullmatch(got)
                    if not m:
                        raise Fail(f"{where}: the answer differs from the page\n$ {text}\nexpected: {want}\ngot:      {got}")
                    for name in names:
                        captured[name] = m.group(name)
    finally:
        if sim:
            sim.stop()
    return ran


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, files = sys.argv[1], sys.argv[2:]
    total, failed = 0, 0
    with tempfile.TemporaryDirectory() as work:
        for path in files:
            try:
                n = run_file(binary, path, work)
                if n:
                    print(f"ok   {path}: {n} commands")
                total += n
            except Fail as e:
                failed += 1
                print(f"FAIL {e}")
            except subprocess.TimeoutExpired as e:
                failed += 1
                print(f"FAIL {path}: a command ran over its deadline: {e.cmd}")
    if failed or total == 0:
        sys.exit(f"{failed} file(s) failed" if failed else "no walk-through found")
    print(f"all walk-throughs match ({total} commands)")


if __name__ == "__main__":
    main()
