"""Memory: 10,000 rounds of every call that returns library memory (and of a
failing call, and now and then the writes) leave the process's anonymous memory where it was, give or
take a generous bound. A buffer not freed would cost at least a few hundred
bytes a call (a page of messages here holds 80 KB), 10,000 times over."""
from msglog import Id


def rss_anon():
    """Resident anonymous memory in bytes (the store's map is file-backed
    and left out)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_calls_do_not_grow_memory(stores):
    store = stores("a", 1, "alice")
    ids = [store.send("team", "%d %s" % (i, "x" * 4000)) for i in range(20)]
    store.react("team", ids[0], "👍")
    store.mark_read("team", ids[-1])
    for r in range(2, 12):    # ten more users with read markers and reactions
        other = stores("u%d" % r, r, "user%d" % r)
        other.sync_from(store)
        other.react("team", ids[0], "👍")
        other.mark_read("team", ids[-1])
        store.sync_from(other)
    empty = stores("empty", 99, "nobody").sync_request()
    mirror = stores("mirror", 98, "mirror")
    op = store.op_bytes("team", ids[3])

    def one_round(i):
        assert len(store.page("team", 20)) == 20
        assert store.message("team", ids[i % 20]).id == ids[i % 20]
        assert len(store.info("team").read) == 11
        assert store.conversations() == ["team"]
        assert store.op_bytes("team", ids[3]) == op
        response = store.sync_response(empty)
        assert store.sync_request("team")
        assert store.delivery_status("team", ids[0]) == 0
        try:
            store.message("team", Id(77, 1))
        except Exception as e:    # NotFound, through msglog_errmsg
            assert e.code < 0
        if i % 50 == 0:    # writes commit (an fsync each): fewer of them
            mirror.sync_apply(response)
            mirror.receive(op)
            store.mark_read("team", ids[i % 20])

    for i in range(300):    # warm up: caches, allocator arenas
        one_round(i)
    before = rss_anon()
    for i in range(10000):
        one_round(i)
    grown = rss_anon() - before
    assert grown < 8 << 20, "anonymous memory grew by %d KiB" % (grown >> 10)
