#!/bin/sh
# The network demo (`make demo` runs it after the story demo): a relay and
# three devices - alice's phone and laptop, bob's phone - as separate
# processes on 127.0.0.1, each with its own store, syncing through the relay
# with `msglog sync`. It shows delivery statuses moving from pending to read,
# a `--watch` device receiving a message as it is written, and a device
# catching up after the relay restarted.
#
#   scripts/demo-net.sh [path/to/msglog]        (default build/msglog)
set -eu
MSGLOG=${1:-build/msglog}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/msglog-demo-net.XXXXXX")
RELAY_PID=
WATCH_PID=

cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
    [ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

say() { printf '\n== %s\n' "$*"; }

# Starts the relay on $PORT (0: any free port) and sets PORT to the real one.
start_relay() {
    "$MSGLOG" relay --listen "127.0.0.1:$1" --dir "$DIR/relay" >"$DIR/relay.out" 2>"$DIR/relay.err" &
    RELAY_PID=$!
    i=0
    until grep -q '^listening ' "$DIR/relay.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$RELAY_PID" 2>/dev/null; then
            echo "demo-net: the relay did not start:" >&2
            cat "$DIR/relay.err" >&2
            exit 1
        fi
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$DIR/relay.out")
}

# sync DEVICE: one sync, states on stderr shown indented.
sync_once() {
    printf '%s syncs:' "$1"
    "$MSGLOG" sync --connect "127.0.0.1:$PORT" --dir "$DIR/$1" --timeout 10 2>&1 |
        tr '\n' ',' | sed 's/,$//; s/,/ ->/g; s/^/ /'
    echo
}

# wait_for DEVICE TEXT TRIES: until DEVICE's view of team shows TEXT, 50 ms
# apart; sets WAITED to the milliseconds it took.
wait_for() {
    i=0
    until "$MSGLOG" show --dir "$DIR/$1" team | grep -q "$2"; do
        i=$((i + 1))
        [ $i -gt "$3" ] && { echo "demo-net: $1 did not get \"$2\"" >&2; exit 1; }
        sleep 0.05
    done
    WAITED=$((i * 50))
}

show() {
    echo "-- $1's view of team:"
    "$MSGLOG" show --dir "$DIR/$1" team
}

say "three devices, one relay (stores in $DIR)"
"$MSGLOG" init --dir "$DIR/phone" --replica 10 --user alice
"$MSGLOG" init --dir "$DIR/laptop" --replica 11 --user alice
"$MSGLOG" init --dir "$DIR/bob" --replica 20 --user bob
start_relay 0
echo "relay listening on 127.0.0.1:$PORT"

say "alice writes on her phone while offline: pending"
HI=$("$MSGLOG" send --dir "$DIR/phone" team "hi bob, dinner at 8?")
show phone

say "the phone syncs: the relay committed it, sent"
sync_once phone
show phone

say "bob's phone and alice's laptop sync; then alice's phone again: delivered"
sync_once bob
sync_once laptop
sync_once phone
show phone

say "bob reads it and answers; both sync: read"
"$MSGLOG" read --dir "$DIR/bob" team "$HI" >/dev/null
"$MSGLOG" send --dir "$DIR/bob" team "yes, see you there" >/dev/null
sync_once bob
sync_once phone
show phone

say "the laptop stays connected (--watch); alice writes on her phone"
"$MSGLOG" sync --connect "127.0.0.1:$PORT" --dir "$DIR/laptop" --watch 2>"$DIR/watch.err" &
WATCH_PID=$!
sleep 0.5
"$MSGLOG" send --dir "$DIR/phone" team "running 10 min late" >/dev/null
sync_once phone
wait_for laptop "10 min late" 100
echo "the laptop got it pushed, $WAITED ms or less after the phone's sync"

say "the relay restarts; the watching laptop backs off and reconnects"
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
"$MSGLOG" send --dir "$DIR/bob" team "ok!" >/dev/null
sleep 0.5
start_relay "$PORT"
sync_once bob
wait_for laptop "ok!" 400
kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
echo "-- the laptop's connection states:"
sed 's/^/   /' "$DIR/watch.err"
show laptop

say "every device ends with the same view"
for d in phone laptop bob; do sync_once "$d"; done
for d in phone laptop bob relay; do
    printf '%-7s digest %s\n' "$d" \
        "$("$MSGLOG" show --dir "$DIR/$d" team --json | sed -n 's/.*"digest": *"\([0-9a-f]*\)".*/\1/p')"
done
a=$("$MSGLOG" show --dir "$DIR/phone" team --json | sed -n 's/.*"digest": *"\([0-9a-f]*\)".*/\1/p')
for d in laptop bob relay; do
    b=$("$MSGLOG" show --dir "$DIR/$d" team --json | sed -n 's/.*"digest": *"\([0-9a-f]*\)".*/\1/p')
    [ "$a" = "$b" ] || { echo "demo-net: $d differs from the phone" >&2; exit 1; }
done
echo "converged."
