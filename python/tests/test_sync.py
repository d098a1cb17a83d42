"""Stores converging through the delta sync trio, and received garbage
refused with nothing changed."""
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
