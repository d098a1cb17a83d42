"""Each exception class, from a real failing call of the library, with the
code and the handle's message it carries."""
import textwrap

import pytest

import msglog
from conftest import python
from msglog import Id, lib


def raises(cls, code, call, *args):
    with pytest.raises(cls) as caught:
        call(*args)
    e = caught.value
    assert type(e) is cls and isinstance(e, msglog.MsglogError)
    assert e.code == code
    assert e.message and e.message in str(e)
    return e


def test_invalid_argument(stores):
    store = stores("a", 1, "alice")
    raises(msglog.InvalidArgument, lib.MSGLOG_EINVAL, store.send, b"\xff", "x")


def test_not_found(stores):
    store = stores("a", 1, "alice")
    e = raises(msglog.NotFound, lib.MSGLOG_ENOTFOUND, store.message, "nowhere", Id(1, 1))
    assert "not found" in str(e)    # msglog_strerror's text follows the message


def test_denied(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    msg = alice.send("team", "mine")
    bob.sync_from(alice)
    raises(msglog.Denied, lib.MSGLOG_EDENIED, bob.edit, "team", msg, "not yours")
    raises(msglog.Denied, lib.MSGLOG_EDENIED, bob.unreact, "team", msg, "👍")


def test_limit(stores):
    store = stores("a", 1, "alice")
    raises(msglog.Limit, lib.MSGLOG_ELIMIT, store.send, "team", "x" * (msglog.MAX_BODY + 1))
    raises(msglog.Limit, lib.MSGLOG_ELIMIT, store.send, "", "x")


def test_corrupt(stores):
    store = stores("a", 1, "alice")
    raises(msglog.Corrupt, lib.MSGLOG_ECORRUPT, store.receive, b"not an op")


def op_with(store, index, value):
    """A send's encoding (docs/format.md, "Op encoding") with byte `index`
    replaced: 1 is the format version, 2 the kind."""
    op = bytearray(store.op_bytes("team", store.send("team", "hi")))
    op[index] = value
    return bytes(op)


def test_unknown_version(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    raises(msglog.UnknownVersion, lib.MSGLOG_EVERSION, bob.receive, op_with(alice, 1, 2))


def test_unknown_kind(stores):
    alice, bob = stores("a", 1, "alice"), stores("b", 2, "bob")
    raises(msglog.UnknownKind, lib.MSGLOG_EKIND, bob.receive, op_with(alice, 2, 7))


def test_mismatch(tmp_path):
    msglog.Store(tmp_path / "a", 1, "alice").close()
    raises(msglog.Mismatch, lib.MSGLOG_EMISMATCH, msglog.Store, tmp_path / "a", 2, "alice")
    raises(msglog.Mismatch, lib.MSGLOG_EMISMATCH, msglog.Store, tmp_path / "a", 1, "bob")


def test_full(stores):
    store = stores("a", 1, "alice", map_size=65536, max_map_size=65536)
    raises(msglog.Full, lib.MSGLOG_EFULL, store.send, "team", "x" * 60000)
    assert store.conversations() == []


def test_io_failure(tmp_path):
    (tmp_path / "file").write_text("in the way")
    raises(msglog.IOFailure, lib.MSGLOG_EIO, msglog.Store, tmp_path / "file" / "store", 1, "a")


def test_pending_full(stores):
    alice = stores("a", 1, "alice")
    bob = stores("b", 2, "bob", max_pending_ops=1)
    ids = [alice.send("team", str(i)) for i in range(3)]
    ops = [alice.op_bytes("team", i) for i in ids]
    # Both wait for op 1; the buffer holds one: the other is dropped, the
    # first kept (the partial outcome the exception's doc describes).
    raises(msglog.PendingFull, lib.MSGLOG_EPENDINGFULL, bob.receive_batch, ops[1:])
    assert bob.info("team").pending == 1


def test_equivocal(stores):
    # Two stores that both claim replica 1: each writes a different op 1:1.
    honest, forger = stores("a", 1, "alice"), stores("f", 1, "alice")
    bob = stores("b", 2, "bob")
    honest.send("team", "I owe bob $5")
    forged = forger.op_bytes("team", forger.send("team", "I owe bob $5000"))
    bob.sync_from(honest)
    raises(msglog.Equivocal, lib.MSGLOG_EEQUIVOCAL, bob.receive, forged)
    assert bob.message("team", Id(1, 1)).equivocated


def test_no_memory(tmp_path):
    # In a child whose address space is capped just above what it uses: a
    # sync response of 12 MB cannot be allocated.
    script = textwrap.dedent("""
        import resource, sys, msglog
        a = msglog.Store(sys.argv[1] + "/a", 1, "alice", map_size=64 << 20)
        for i in range(200):
            a.send("team", "x" * 60000)
        request = msglog.Store(sys.argv[1] + "/b", 2, "bob").sync_request()
        vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status")
                  if l.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + (4 << 20), resource.RLIM_INFINITY))
        try:
            a.sync_response(request)
        except msglog.NoMemory as e:
            print(e.code, e)
    """)
    done = python("-c", script, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("%d cannot build the sync response" % lib.MSGLOG_ENOMEM)


def test_every_code_has_its_class():
    codes = [getattr(lib, n) for n in dir(lib) if n.startswith("MSGLOG_E")]
    classes = {msglog._error(code, "").__class__ for code in codes}
    assert len(classes) == len(codes) == 15
    assert msglog.MsglogError not in classes
    assert type(msglog._error(-99, "")) is msglog.MsglogError
    assert str(msglog._error(-99, "")) == "unknown error"
