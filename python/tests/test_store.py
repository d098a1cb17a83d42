"""Every method of msglog.Store on real stores: opening, the six ops, the
view, moving ops, delivery status, str and bytes arguments, closing."""
import pytest

import msglog
from conftest import cli, view
from msglog import Id


def test_create_reopen_and_close(tmp_path):
    path = tmp_path / "phone"
    with msglog.Store(path, 10, "alice") as store:
        assert (store.replica, store.user) == (10, "alice")
        assert not store.closed
        store.send("team", "hi")
    assert store.closed
    assert "closed" in repr(store)
    with pytest.raises(ValueError):
        store.send("team", "after close")
    store.close()    # closing twice does nothing
    # By its identity, and again with it given.
    with msglog.Store(path) as store:
        assert (store.replica, store.user) == (10, "alice")
        assert [m.body for m in store.messages("team")] == ["hi"]
    with msglog.Store(str(path), 10, b"alice") as store:
        assert store.conversations() == ["team"]


def test_open_by_identity_creates_nothing(tmp_path):
    with pytest.raises(msglog.NotFound):
        msglog.Store(tmp_path / "none")
    assert not (tmp_path / "none").exists()
    with pytest.raises(ValueError):
        msglog.Store(str(tmp_path / "a\0b"), 1, "alice")


def test_send_edit_delete(stores):
    store = stores("a", 1, "alice")
    first = store.send("team", "see you at 9")
    assert first == Id(1, 1) and isinstance(first, Id)
    m = store.message("team", first)
    assert (m.id, m.author, m.body) == (first, "alice", "see you at 9")
    assert not (m.edited or m.deleted or m.conflict or m.equivocated)
    assert m.reactions == {} and m.hlc > 0

    assert store.edit("team", first, "see you at 8:30") == Id(1, 2)
    m = store.message("team", first)
    assert m.body == "see you at 8:30" and m.edited

    assert store.delete("team", first) == Id(1, 3)
    m = store.message("team", first)
    assert m.body is None and m.deleted


def test_react_unreact(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    msg = alice.send("team", "lunch?")
    bob.sync_from(alice)
    assert bob.react("team", msg, "👍") == Id(2, 1)
    alice.react("team", msg, "👍")
    alice.react("team", msg, "🍕")
    alice.sync_from(bob)
    assert alice.message("team", msg).reactions == {"👍": ("alice", "bob"), "🍕": ("alice",)}
    assert bob.unreact("team", msg, "👍") == Id(2, 2)
    alice.sync_from(bob)
    assert alice.message("team", msg).reactions["👍"] == ("alice",)


def test_mark_read_and_info(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    ids = [alice.send("team", "m%d" % i) for i in range(3)]
    bob.sync_from(alice)
    assert bob.mark_read("team", ids[1]) == Id(2, 1)
    alice.mark_read("team", ids[2])
    alice.sync_from(bob)
    info = alice.info("team")
    assert info.vector == {1: 4, 2: 1}
    assert info.read == {"alice": ids[2], "bob": ids[1]}
    assert (info.pending, info.n_messages) == (0, 3)
    assert info.digest == info.digest_bytes.hex() and len(info.digest) == 32
    assert bob.info("team").digest != info.digest
    bob.sync_from(alice)
    assert bob.info("team") == info


def test_conflict(tmp_path):
    # alice's phone and laptop edit one message while apart.
    with msglog.Store(tmp_path / "phone", 1, "alice") as phone, \
            msglog.Store(tmp_path / "laptop", 2, "alice") as laptop:
        msg = phone.send("trip", "meet at 8")
        laptop.sync_from(phone)
        phone.edit("trip", msg, "meet at 8:30")
        laptop.edit("trip", msg, "meet at 9")
        phone.sync_from(laptop)
        laptop.sync_from(phone)
        shown = phone.message("trip", msg)
        assert shown.conflict and shown.edited
        assert shown == laptop.message("trip", msg)


def test_conversations(stores):
    store = stores("a", 1, "alice")
    assert store.conversations() == []
    for conv in ("zeta", "alpha", "émigrés", "beta"):
        store.send(conv, "x")
    assert store.conversations() == ["alpha", "beta", "zeta", "émigrés"]


def test_op_bytes_receive_and_pending(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    ids = [alice.send("team", "m%d" % i) for i in range(3)]
    ops = [alice.op_bytes("team", i) for i in ids]
    assert all(isinstance(op, bytes) for op in ops)
    bob.receive(ops[2])
    assert bob.info("team").pending == 1
    with pytest.raises(msglog.NotFound):
        bob.message("team", ids[2])
    bob.receive_batch([ops[1], ops[0]])
    assert bob.info("team").pending == 0
    assert [m.body for m in bob.messages("team")] == ["m0", "m1", "m2"]
    # A duplicate is ignored; an empty batch commits nothing.
    bob.receive(ops[0])
    bob.receive_batch([])
    assert bob.info("team") == alice.info("team")
    # A pending op's bytes are there too.
    carol = stores("c", 3, "carol")
    carol.receive(bytearray(ops[2]))
    assert carol.op_bytes("team", ids[2]) == ops[2]


def test_sync_request_for_one_conversation(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    alice.send("one", "1")
    alice.send("two", "2")
    bob.sync_apply(alice.sync_response(bob.sync_request("one")))
    assert bob.conversations() == ["one"]
    bob.sync_from(alice)
    assert bob.conversations() == ["one", "two"]


def test_delivery_status(stores):
    store = stores("a", 1, "alice")
    msg = store.send("team", "hi")
    status = store.delivery_status("team", msg)
    assert status is msglog.Status.PENDING and status == 0
    assert [s.name for s in msglog.Status] == ["PENDING", "SENT", "DELIVERED", "READ"]
    with pytest.raises(msglog.NotFound):
        store.delivery_status("team", Id(1, 9))


def test_str_and_bytes(stores):
    store = stores("a", 1, "alice")
    body = "nul \0 inside, 🚀 and ü"
    msg = store.send(b"caf\xc3\xa9", body.encode())
    assert store.conversations() == ["café"]
    m = store.message("café", msg)
    assert m.body == body and isinstance(m.author, str)
    assert m.body.encode() == body.encode()
    assert store.send(memoryview(b"caf\xc3\xa9"), "") == Id(1, 2)
    assert store.message("café", Id(1, 2)).body == ""
    store.react("café", (1, 1), b"\xf0\x9f\x9a\x80")
    assert store.message("café", msg).reactions == {"🚀": ("alice",)}
    with pytest.raises(TypeError):
        store.send(7, "x")
    with pytest.raises(TypeError):
        store.receive("not bytes")
    with pytest.raises(UnicodeEncodeError):
        store.send("team", "\ud800")    # a lone surrogate is not UTF-8


def test_page_and_start(stores):
    store = stores("a", 1, "alice")
    ids = [store.send("team", str(i)) for i in range(10)]
    first = store.page("team", 4)
    assert [m.id for m in first] == ids[:4]
    assert [m.id for m in store.page("team", 4, start=first[-1])] == ids[4:8]
    last = store.page("team", 3, backward=True)
    assert [m.id for m in last] == ids[:-4:-1]
    assert [m.id for m in store.page("team", 100, backward=True, start=last[-1])] == ids[6::-1]
    assert store.page("team", 0) == []
    assert [m.id for m in store.messages("team", start=first[-1], page_size=2)] == ids[4:]
    with pytest.raises(ValueError):
        list(store.messages("team", page_size=0))


def test_id():
    assert str(Id(10, 3)) == "10.3"
    assert Id.parse("10.3") == Id.parse("10:3") == Id(10, 3) == (10, 3)
    assert Id(1, 2).replica == 1 and Id(1, 2).seq == 2


def test_write_batch(stores):
    store, single = stores("a", 1, "alice"), stores("s", 1, "alice")
    writes = [("send", "team", "one"), ("send", "team", b"two"),
              ("edit", "team", (1, 1), "one, edited"), ("react", "team", (1, 2), "👍"),
              ("unreact", "team", (1, 2), "👍"), ("mark_read", "team", (1, 2)),
              ("delete", "team", (1, 2)), ("send", "other", "")]
    assert store.write_batch(writes) == [Id(1, s) for s in range(1, 8)] + [Id(1, 1)]
    # The same as one call each.
    for kind, *args in writes:
        getattr(single, kind)(*args)
    strip = lambda view: {c: (i.vector, i.read, i.n_messages,
                              [(m.id, m.body, m.edited, m.deleted, m.reactions) for m in ms])
                          for c, (i, ms) in view.items()}
    assert strip(view(store)) == strip(view(single))
    assert store.write_batch([]) == []


def test_write_batch_refused_whole(stores):
    store = stores("a", 1, "alice")
    store.send("team", "before")
    before = view(store)
    with pytest.raises(msglog.NotFound) as caught:
        store.write_batch([("send", "team", "x"), ("edit", "team", (1, 9), "y")])
    assert caught.value.index == 1
    with pytest.raises(msglog.Limit) as caught:
        store.write_batch([("send", "team", "x")] * (msglog.MAX_WRITE_BATCH + 1))
    assert caught.value.index == 0
    assert view(store) == before
    with pytest.raises(ValueError):
        store.write_batch([("shout", "team", "x")])
    with pytest.raises(TypeError):
        store.write_batch([("delete", "team", (1, 1), "extra")])


def test_version():
    assert msglog.version() == msglog.__version__
    assert cli("--version").split() == ["msglog", msglog.version()]
    assert [int(p) for p in msglog.version().split(".")] == [
        msglog.lib.MSGLOG_VERSION_MAJOR, msglog.lib.MSGLOG_VERSION_MINOR,
        msglog.lib.MSGLOG_VERSION_PATCH]


def test_new_replica_id_and_compact(tmp_path):
    ids = {msglog.new_replica_id() for _ in range(100)}
    assert len(ids) == 100 and all(1 <= i < 2 ** 53 for i in ids)
    with msglog.Store(tmp_path / "c", ids.pop(), "alice") as store:
        for i in range(100):
            store.send("team", "message %d" % i)
        before_view = [m.body for m in store.messages("team")]
        before, after = store.compact()
        assert 0 < after <= before
        assert [m.body for m in store.messages("team")] == before_view
        store.send("team", "after the compaction")
