"""python/examples/echo_bot.py, run as a script on a store (made by `msglog
init`) that other stores feed through the delta sync: every message
addressed to the bot is answered once, however often the bot runs."""
import os

import msglog
from conftest import EXAMPLES, cli, python


def run_bot(path):
    done = python(os.path.join(EXAMPLES, "echo_bot.py"), "--dir", path, "team")
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().splitlines()


def feed(path, *sources):
    """The bot's store takes what `sources` have, then they take its answers."""
    with msglog.Store(path) as bot:
        for s in sources:
            bot.sync_from(s)
        for s in sources:
            s.sync_from(bot)


def test_echo_bot_answers_each_message_once(stores, tmp_path):
    bot_dir = tmp_path / "bot"
    cli("init", "--dir", bot_dir, "--replica", 7, "--user", "bot")
    assert run_bot(bot_dir) == []    # the conversation has not reached it yet
    alice, bob = stores("alice", 1, "alice"), stores("bob", 2, "bob")
    hello = alice.send("team", "@bot hello")
    alice.send("team", "lunch at noon?")
    alice.send("team", "@botany is not the bot")
    ping = alice.send("team", "@bot ping  ")
    feed(bot_dir, alice)
    assert run_bot(bot_dir) == [f"re {hello} @alice: hello", f"re {ping} @alice: ping"]
    assert run_bot(bot_dir) == []

    # bob, offline until now, and alice again: only the new ones are answered.
    late = bob.send("team", "@bot from bob")
    alice.sync_from(bob)
    again = alice.send("team", "@bot again")
    feed(bot_dir, alice, bob)
    assert sorted(run_bot(bot_dir)) == sorted([f"re {late} @bob: from bob",
                                               f"re {again} @alice: again"])
    assert run_bot(bot_dir) == []
    feed(bot_dir, alice, bob)

    answers = [m.body for m in alice.messages("team") if m.author == "bot"]
    assert len(answers) == 4
    for asked in (hello, ping, late, again):
        assert sum(a.startswith(f"re {asked} @") for a in answers) == 1
    assert alice.info("team") == bob.info("team")
