#!/usr/bin/env python3
"""A bot on msglog's Python binding: it answers every message of a
conversation that is addressed to it ("@bot ...") once.

usage: echo_bot.py --dir DIR CONV [--name NAME]

DIR is the bot's own store (`msglog init --dir DIR --replica N --user bot`);
NAME defaults to its user. A message starting with "@NAME " gets the answer
"re R.S @AUTHOR: TEXT", R.S being the message's id and TEXT the rest of its
text. The bot remembers what it answered in the store itself: every answer
names the message it answers, so the answer and the memory of it are one
commit, and a bot run again (after a sync brought more messages, or after a
crash) never answers a message twice. Prints each answer it sends.

How the messages reach the store and the answers leave it is up to whoever
runs the bot: a sync with a relay (`msglog sync`, or Store.sync()), or the
delta sync between two stores (Store.sync_from()).
"""
import argparse
import re

import msglog

ANSWER = re.compile(r"re (\d+\.\d+) @")


def answer_all(store, conv, name=None):
    """Answers the messages of `conv` addressed to `name` (default: the
    store's user) that have no answer yet; returns the answers' texts."""
    name = name or store.user
    mention = "@%s " % name
    try:
        messages = list(store.messages(conv))
    except msglog.NotFound:    # nothing of conv has reached the store yet
        return []
    answered = set()
    for m in messages:
        hit = m.body and m.author == store.user and ANSWER.match(m.body)
        if hit:
            answered.add(msglog.Id.parse(hit.group(1)))
    sent = []
    for m in messages:
        if m.author == store.user or not m.body or not m.body.startswith(mention):
            continue
        if m.id in answered:
            continue
        text = "re %s @%s: %s" % (m.id, m.author, m.body[len(mention):].strip())
        store.send(conv, text)
        sent.append(text)
    return sent


def main():
    p = argparse.ArgumentParser(description="Answers every '@NAME ...' message of CONV once.")
    p.add_argument("--dir", required=True, help="the bot's store")
    p.add_argument("--name", help="what it answers to (default: the store's user)")
    p.add_argument("conv")
    a = p.parse_args()
    with msglog.Store(a.dir) as store:
        for text in answer_all(store, a.conv, a.name):
            print(text)


if __name__ == "__main__":
    main()
