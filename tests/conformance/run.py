#!/usr/bin/env python3
"""Conformance runner for msglog's own copy of the replay cases.

usage: run.py MSGLOG CASE_DIR

For every CASE_DIR/NAME.trace.jsonl, runs `MSGLOG replay NAME.trace.jsonl` and
compares with what the case expects:

  NAME.expected.jsonl  exit 0, and the printed lines equal the expected ones
                       as JSON values (key order and spacing are free); the
                       "digest" fields are compared by class: two printed
                       digests must be equal exactly where the expected ones
                       are (and be hex strings of 32+ digits).
  NAME.error           holds a line number N: exit 2, and stderr names
                       "line N".

Prints one line per case and a summary; exits 1 when any case fails.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys

TIMEOUT_S = 300
HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{32,}$")


class Mismatch(Exception):
    """A case's output differs from its expectation; str() says how."""


def load_lines(text, what):
    """The non-blank lines of `text`, each parsed as JSON."""
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except ValueError as e:
            raise Mismatch("%s line %d is not JSON (%s)" % (what, number, e))
    return values


def brief(value, limit=240):
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


class DigestClasses:
    """Checks that printed and expected digests correspond one to one."""

    def __init__(self):
        self.printed_for = {}    # expected digest -> printed digest
        self.expected_for = {}   # printed digest -> expected digest

    def check(self, printed, expected, where):
        if not isinstance(printed, str) or not HEX_DIGEST.match(printed):
            raise Mismatch("%s: digest %r is not 32+ hex digits" % (where, printed))
        if self.printed_for.setdefault(expected, printed) != printed:
            raise Mismatch("%s: digest %s differs from an earlier one for the same delivered ops"
                           % (where, printed))
        if self.expected_for.setdefault(printed, expected) != expected:
            raise Mismatch("%s: digest %s repeats an earlier one for other delivered ops"
                           % (where, printed))


def first_difference(got, want):
    """The first field (or message) where two view lines differ."""
    for key in sorted(set(got) | set(want)):
        g, w = got.get(key), want.get(key)
        if g == w:
            continue
        if key == "messages" and isinstance(g, list) and isinstance(w, list):
            for i in range(max(len(g), len(w))):
                gm = g[i] if i < len(g) else None
                wm = w[i] if i < len(w) else None
                if gm != wm:
                    return "message %d is %s, expected %s" % (i, brief(gm), brief(wm))
        return "%s is %s, expected %s" % (key, brief(g), brief(w))
    return "lines differ"


def compare_views(got, want):
    if len(got) != len(want):
        raise Mismatch("printed %d view lines, expected %d" % (len(got), len(want)))
    digests = DigestClasses()
    for number, (g, w) in enumerate(zip(got, want), 1):
        where = "view line %d (replica %s, conv %s)" % (
            number, w.get("replica"), brief(w.get("conv"), 40))
        if not isinstance(g, dict):
            raise Mismatch("%s is not a JSON object" % where)
        digests.check(g.get("digest"), w.get("digest"), where)
        g = {k: v for k, v in g.items() if k != "digest"}
        w = {k: v for k, v in w.items() if k != "digest"}
        if g != w:
            raise Mismatch("%s: %s" % (where, first_difference(g, w)))


def replay(msglog, trace):
    proc = subprocess.run([msglog, "replay", trace], capture_output=True,
                          timeout=TIMEOUT_S)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def run_case(msglog, case_dir, name):
    """None when the case passes, else why it fails."""
    base = os.path.join(case_dir, name)
    try:
        code, out, err = replay(msglog, base + ".trace.jsonl")
        if os.path.exists(base + ".error"):
            with open(base + ".error", encoding="utf-8") as f:
                line = int(f.read().strip())
            if code != 2:
                raise Mismatch("exit %d, expected 2 (invalid at line %d)" % (code, line))
            if not re.search(r"\bline %d\b" % line, err):
                raise Mismatch("stderr does not name line %d: %s" % (line, brief(err.strip())))
            return None
        with open(base + ".expected.jsonl", encoding="utf-8") as f:
            want = load_lines(f.read(), "expected")
        if code != 0:
            raise Mismatch("exit %d: %s" % (code, brief(err.strip())))
        compare_views(load_lines(out, "output"), want)
        return None
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TIMEOUT_S
    except (Mismatch, OSError, ValueError) as e:
        return str(e)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    msglog, case_dir = os.path.abspath(argv[1]), argv[2]
    names = sorted(f[:-len(".trace.jsonl")] for f in os.listdir(case_dir)
                   if f.endswith(".trace.jsonl"))
    if not names:
        print("no cases in %s" % case_dir)
        return 1
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda n: run_case(msglog, case_dir, n), names))
    failed = 0
    for name, why in zip(names, results):
        if why is None:
            print("ok   %s" % name)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, why))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
