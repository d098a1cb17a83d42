#!/usr/bin/env python3
"""The docs stand alone (ctest docs): no Markdown file, header or help text
of the project points outside the repository (a `../shared/...` path) or at
an issue of the project's tracker (`issue 12`, `#12`), which a user of the
project does not have.

usage: check_docs.py ROOT

Prints each offending line and exits 1, or prints a summary and exits 0.
"""
import os
import re
import sys

PATTERNS = [
    (re.compile(r"\.\./shared/"), "a path outside the repository"),
    (re.compile(r"\bissues? #?\d+\b", re.I), "an issue number"),
    (re.compile(r"(?<![\w&/])#\d{1,4}\b(?!\w)"), "an issue reference"),
]
SKIP_DIRS = {".git", "build", "build-bench", "node_modules", "corpus", "results"}
FILES = (".md", ".h")


def files(root):
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")]
        for n in names:
            if n.endswith(FILES) or n in ("main.c",):
                yield os.path.join(d, n)


def main(argv):
    root = argv[1]
    bad, n = 0, 0
    for path in files(root):
        n += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f, 1):
                for rx, what in PATTERNS:
                    if rx.search(line) and not line.lstrip().startswith("#include"):
                        print("%s:%d: %s: %s" % (os.path.relpath(path, root), i, what, line.strip()))
                        bad += 1
    print("docs: %d files, %d references that point outside the project" % (n, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
