"""Iterating over a few hundred messages, forward and backward at several page
sizes, gives what `msglog show --json` prints of the same store."""
import pytest

from conftest import show_json


@pytest.fixture
def team(stores):
    """alice's store after 320 messages of two writers who were offline from
    each other, with edits, deletes and reactions, merged."""
    alice, bob = stores("alice", 1, "alice"), stores("bob", 2, "bob")
    mine, theirs = [], []
    for i in range(160):
        mine.append(alice.send("team", "alice %d" % i))
        theirs.append(bob.send("team", "bob %d ✓" % i))
    for i in range(0, 160, 9):
        alice.edit("team", mine[i], "alice %d, edited" % i)
        bob.delete("team", theirs[i])
    alice.sync_from(bob)
    for i in range(0, 160, 5):
        if i % 9:    # not deleted
            alice.react("team", theirs[i], "👀")
    alice.mark_read("team", theirs[100])
    return alice


def as_shown(store, messages):
    """What `msglog show --json` prints for these messages of "team"."""
    info = store.info("team")
    return {
        "messages": [{"id": str(m.id), "author": m.author, "hlc": m.hlc, "body": m.body,
                      "edited": m.edited, "deleted": m.deleted, "conflict": m.conflict,
                      "equivocated": m.equivocated,
                      "reactions": {k: list(users) for k, users in m.reactions.items()},
                      "status": store.delivery_status("team", m.id).name.lower()}
                     for m in messages],
        "vv": {str(r): s for r, s in info.vector.items()}, "pending": info.pending,
        "digest": info.digest, "read": {u: str(i) for u, i in info.read.items()},
        "n_messages": info.n_messages}


@pytest.mark.parametrize("page_size", [1, 7, 256, 1000])
def test_both_directions_match_show(team, page_size):
    forward = list(team.messages("team", page_size=page_size))
    backward = list(team.messages("team", backward=True, page_size=page_size))
    assert len(forward) == 320 == team.info("team").n_messages
    assert as_shown(team, forward) == show_json(team.path, "team")
    assert backward == forward[::-1]


def test_order_and_content(team):
    forward = list(team.messages("team", page_size=50))
    keys = [(m.hlc, m.id) for m in forward]
    assert keys == sorted(keys)
    assert len(set(m.id for m in forward)) == 320
    deleted = [m for m in forward if m.deleted]
    assert len(deleted) == 18 and all(m.body is None for m in deleted)
    assert sum(m.edited for m in forward) == 18
    assert sum("👀" in m.reactions for m in forward) == 28
