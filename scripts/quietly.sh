#!/bin/sh
# Runs a command with its output set aside, and prints that output only if
# the command fails; exits with the command's status. `make demo` builds
# through it, so that the story is the first thing on the screen.
#
#   scripts/quietly.sh COMMAND [ARGS...]
log=$(mktemp "${TMPDIR:-/tmp}/msglog-quietly.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$@" >"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    echo "$0: $* failed (exit $rc)" >&2
fi
exit "$rc"
