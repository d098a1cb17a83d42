#!/usr/bin/env python3
"""The layering check of `make test` (docs/design.md, "The tree").

usage: check_includes.py ROOT

Reads the folders and what each may use from the msglog_layer() lines of
ROOT/CMakeLists.txt (the same table the build links by), then checks every
.c and .h file of the library folders and of tools/:
  - a package's header (<lmdb.h>, <msgpack.h>, <uv.h>, <xxhash.h>,
    <sodium.h>, <jansson.h>) appears only in the folders that declare the
    package (tools/, the CLI, is an application: libuv and jansson);
  - a project header "F/x.h" is included only from F itself or from a folder
    that declares F; tools/ includes only "msglog.h" and its own headers.
Prints each violation and exits 1, or prints a summary and exits 0.
"""
import os
import re
import sys

PACKAGE_HEADERS = {
    "PkgConfig::LMDB": ["lmdb.h"],
    "PkgConfig::MSGPACK": ["msgpack.h"],
    "PkgConfig::LIBUV": ["uv.h"],
    "PkgConfig::XXHASH": ["xxhash.h"],
    "PkgConfig::SODIUM": ["sodium.h"],
    "PkgConfig::JANSSON": ["jansson.h"],
}
# The CLI is an application of the library: its own packages, the public
# header, its own files.
TOOLS = ("tools", {"uv.h", "jansson.h"})


def layers(root):
    text = open(os.path.join(root, "CMakeLists.txt")).read()
    out = {}
    for m in re.finditer(r"^msglog_layer\((\w+)([^)]*)\)", text, re.M):
        name, rest = m.group(1), m.group(2).split()
        deps, pkgs, mode = set(), set(), None
        for w in rest:
            if w in ("LAYERS", "PACKAGES"):
                mode = w
            elif mode == "LAYERS":
                deps.add(w)
            elif mode == "PACKAGES":
                pkgs.update(PACKAGE_HEADERS.get(w, []))
        out[name] = (deps, pkgs)
    return out


def sources(root, folder):
    d = os.path.join(root, folder)
    for f in sorted(os.listdir(d)):
        if f.endswith((".c", ".h")):
            yield os.path.join(folder, f), open(os.path.join(d, f)).read()


def main(argv):
    root = argv[1]
    table = layers(root)
    if len(table) < 2:
        print("check_includes: no msglog_layer() lines found in CMakeLists.txt")
        return 1
    all_headers = {h for hs in PACKAGE_HEADERS.values() for h in hs}
    bad, files = [], 0
    checks = [(f, table[f][0] | {f}, table[f][1]) for f in table]
    checks.append((TOOLS[0], {TOOLS[0]}, TOOLS[1]))
    for folder, may_include, may_use in checks:
        for path, text in sources(root, folder):
            files += 1
            for n, line in enumerate(text.splitlines(), 1):
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if not m:
                    continue
                kind, inc = m.groups()
                if kind == "<":
                    if inc in all_headers and inc not in may_use:
                        bad.append("%s:%d: <%s> is not a package of %s/" % (path, n, inc, folder))
                    continue
                top = inc.split("/")[0] if "/" in inc else None
                if inc == "msglog.h" or top is None:
                    continue  # the public header, or a file of the same folder
                if top not in may_include:
                    bad.append('%s:%d: "%s": %s/ may not include %s/' % (path, n, inc, folder, top))
    for b in bad:
        print(b)
    if bad:
        print("check_includes: %d violation(s) in %d files" % (len(bad), files))
        return 1
    print("check_includes: %d files in %d folders follow the layering" % (files, len(checks)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
