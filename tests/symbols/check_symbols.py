#!/usr/bin/env python3
"""The ctest `symbols`: libmsglog.a and libmsglog.so define no global symbol
outside the msglog_ prefix, and the same msglog_* in both.

usage: check_symbols.py CC INCLUDE_DIR ARCHIVE SHARED OWN_NAMES_C PKG_MODULE...

Reads nm's tables: the archive's global symbols (every member), the shared
library's dynamic ones and the global ones of its full symbol table. Then
links OWN_NAMES_C, a program defining store_open and other internal names of
its own, against ARCHIVE and the pkg-config modules, and runs it: a leaked
name is a multiple definition there. Prints each problem and exits 1.
"""
import os
import subprocess
import sys
import tempfile

PREFIX = "msglog_"


def defined_globals(*nm_args):
    """Names of the defined global or weak symbols nm lists for nm_args."""
    out = subprocess.run(["nm", "--defined-only", "-P", *nm_args],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # "name type [value size]"; an archive's member header ends in ':'.
        if len(parts) >= 2 and not parts[0].endswith(":") and parts[1].isupper():
            names.add(parts[0])
    return names


def main():
    cc, include, archive, shared, own_names = sys.argv[1:6]
    modules = sys.argv[6:]
    problems = []
    tables = {
        archive: defined_globals("-g", archive),
        shared + " (dynamic)": defined_globals("-D", shared),
        shared: defined_globals("-g", shared),
    }
    for what, names in tables.items():
        leaked = sorted(n for n in names if not n.startswith(PREFIX))
        if leaked:
            problems.append(f"{what}: {len(leaked)} global symbols without "
                            f"the {PREFIX} prefix: {' '.join(leaked)}")
        if "msglog_open" not in names:
            problems.append(f"{what}: msglog_open is not global")
    api = {what: {n for n in names if n.startswith(PREFIX)}
           for what, names in tables.items()}
    if api[archive] != api[shared + " (dynamic)"]:
        diff = api[archive] ^ api[shared + " (dynamic)"]
        problems.append("the archive and the shared library export different "
                        "msglog_* symbols: " + " ".join(sorted(diff)))

    libs = subprocess.run(["pkg-config", "--libs", *modules], check=True,
                          capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "own_names")
        link = subprocess.run([cc, "-I", include, own_names, archive, *libs,
                               "-pthread", "-o", exe],
                              capture_output=True, text=True)
        if link.returncode != 0:
            problems.append("a program with its own store_open does not link "
                            "against " + archive + ":\n" + link.stderr)
        else:
            run = subprocess.run([exe, os.path.join(tmp, "store")],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                problems.append(f"own_names exited with {run.returncode}: "
                                f"{run.stdout}{run.stderr}")

    for p in problems:
        print("symbols: " + p)
    if problems:
        return 1
    print(f"symbols: ok: {len(tables[archive])} msglog_* symbols, nothing "
          "else global; a program with its own store_open links and runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
