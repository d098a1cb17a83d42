/* Naming a damaged record in words its owner can act on:
 *
 *   ops record 3.17 of conversation team is damaged (checksum)
 *
 * the table, the conversation and the record, read from the record's key.
 * The key may be the damaged part itself: then the name is what the key
 * now says, which is still where the damage is. store.c writes the name
 * when a read finds a record damaged; msglog_errmsg() shows it. */
#ifndef MSGLOG_LOG_DAMAGE_H
#define MSGLOG_LOG_DAMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "log/store.h"

#define DAMAGE_MSG_MAX 384

/* 1 and the conversation number (*cid) for a key of a table keyed by cid
 * first (long enough to hold one), 0 for the other tables. */
int damage_key_cid(int tbl, store_val key, uint32_t *cid);

/* Writes "<table> record <which> ... is damaged (<why>)" into
 * buf[0..DAMAGE_MSG_MAX), NUL-terminated. conv: the name of the key's
 * conversation when the caller found it (data NULL: unknown, the number is
 * shown); tables whose keys hold the name (convs, peers) need none. Bytes
 * that are not printable UTF-8 are shown as \xNN. */
void damage_describe(char *buf, int tbl, store_val key, store_val conv, const char *why);

#endif
