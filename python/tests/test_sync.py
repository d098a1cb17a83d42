"""Stores converging through the delta sync trio and through a relay (the
msglog CLI's, a real process), and received garbage refused with nothing
changed."""
import os
import socket
import subprocess

import pytest

import msglog
from conftest import view


def write_apart(stores_by_user):
    """Each store writes on its own (as devices that are offline): messages
    in two conversations, and edits, reactions, deletes and read markers on
    what it has."""
    for n, (user, store) in enumerate(stores_by_user.items()):
        for i in range(12):
            conv = "team" if i % 3 else "plans"
            msg = store.send(conv, "%s %d" % (user, i))
            if i % 4 == 0:
                store.edit(conv, msg, "%s %d (edited)" % (user, i))
            if i % 5 == 0:
                store.react(conv, msg, "❤️")
            if i == 7 - n:
                store.delete(conv, msg)
        store.mark_read("team", msg)


def test_delta_sync_converges(stores):
    group = {u: stores(u, r, u) for r, u in enumerate(["alice", "bob", "carol", "dave"], 1)}
    write_apart(group)
    a, b, c, d = group.values()
    # The trio by hand once: b asks, a answers, b applies.
    request = b.sync_request()
    response = a.sync_response(request)
    assert isinstance(request, bytes) and isinstance(response, bytes)
    b.sync_apply(response)
    assert b.info("team").vector[1] == a.info("team").vector[1]
    # Then a ring each way: everyone gets everything.
    for x, y in [(b, a), (c, b), (d, c), (a, d), (b, a), (c, b)]:
        x.sync_from(y)
    views = [view(s) for s in group.values()]
    assert all(v == views[0] for v in views)
    digests = {conv: info.digest for conv, (info, _) in views[0].items()}
    assert sorted(digests) == ["plans", "team"]
    assert len(views[0]["team"][1]) + len(views[0]["plans"][1]) == 48
    assert set(views[0]["team"][0].read) == {"alice", "bob", "carol", "dave"}
    # Nothing left to send: a response to an up-to-date store changes nothing.
    a.sync_from(d)
    assert view(a) == views[0]


def test_garbage_is_refused_and_changes_nothing(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    msg = alice.send("team", "hello")
    bob.sync_from(alice)
    bob.send("team", "hi")
    good = alice.op_bytes("team", alice.edit("team", msg, "hello!"))
    before = view(bob)
    junk = [b"", b"\x00", b"garbage", b"\x99\x01\x01", good[:-1], good + b"\x00",
            b"\xdd\xff\xff\xff\xff"]
    for op in junk:
        with pytest.raises(msglog.Corrupt):
            bob.receive(op)
    with pytest.raises(msglog.Corrupt):
        bob.receive_batch([good, b"garbage"])    # refused whole: `good` not applied
    with pytest.raises(msglog.Corrupt):
        bob.sync_apply(b"garbage")
    with pytest.raises(msglog.Corrupt):
        alice.sync_response(b"garbage")
    assert view(bob) == before
    bob.receive(good)
    assert bob.message("team", msg).body == "hello!"


@pytest.fixture
def relay(tmp_path):
    """A relay (`msglog relay`) on 127.0.0.1; its port, once it listens."""
    with open(tmp_path / "relay.err", "wb") as err:
        p = subprocess.Popen([os.environ["MSGLOG_CLI"], "relay", "--listen", "127.0.0.1:0",
                              "--dir", str(tmp_path / "relay")],
                             stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    try:
        line = p.stdout.readline().decode()    # printed once it listens
        assert line.startswith("listening 127.0.0.1:"), (tmp_path / "relay.err").read_text()
        yield int(line.rsplit(":", 1)[1])
    finally:
        p.terminate()
        p.wait()
        p.stdout.close()


def test_network_sync_through_a_relay(stores, relay):
    group = {u: stores(u, r, u) for r, u in [(10, "alice"), (20, "bob"), (30, "carol")]}
    write_apart(group)
    a, b, c = group.values()
    mine = a.page("team", 1, backward=True)[0]
    for store in (a, b, c, a, b):    # the first three bring the relay everything
        store.sync("127.0.0.1", relay, timeout=60)
    views = [view(s) for s in group.values()]
    assert all(v == views[0] for v in views)
    assert a.delivery_status("team", mine.id) >= msglog.Status.SENT
    # Only the conversations asked for.
    d = stores("dave", 40, "dave")
    d.sync("127.0.0.1", relay, convs=["plans"], timeout=60)
    assert d.conversations() == ["plans"]
    assert view(d)["plans"] == views[0]["plans"]


def test_network_failure_raises_network_failure(stores):
    store = stores("a", 1, "alice")
    store.send("team", "hi")
    with socket.socket() as s:    # bound, not listening: connecting is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(msglog.NetworkFailure) as caught:
            store.sync("127.0.0.1", port, timeout=60)
    assert caught.value.message
    with pytest.raises(msglog.InvalidArgument):
        store.sync("", 1)
    assert store.delivery_status("team", (1, 1)) == msglog.Status.PENDING
