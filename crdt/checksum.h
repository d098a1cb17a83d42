/* The checksum that guards every stored record against damage (a flipped
 * bit, a torn or misplaced page): log/frame.c appends it to each value it
 * writes and checks it on each read. It lives here because xxhash.h may be
 * included in crdt/ only.
 *
 * XXH3-64 is a checksum, not a seal: it finds accidents, not an attacker
 * who rewrites a record and its checksum together (docs/format.md). */
#ifndef MSGLOG_CRDT_CHECKSUM_H
#define MSGLOG_CRDT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* XXH3-64 of val[0..val_len) seeded with XXH3-64 of key[0..key_len): covers
 * the key and the value, and moving bytes from one to the other changes it.
 * Either pointer may be NULL when its length is 0. */
uint64_t checksum_record(const void *key, size_t key_len, const void *val, size_t val_len);

#endif
