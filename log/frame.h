/* The framing of stored records: every value msglog writes into any table
 * is its payload followed by an 8-byte checksum (big-endian) of the record's
 * key and payload (crdt/checksum.h), so a flipped bit anywhere in a record,
 * its key included, and a record read from the wrong place are found when
 * it is read. store.c frames every put and checks every get and cursor step
 * through these two functions, so no table's file can forget them, and the
 * payloads the tables see are exactly the layouts of docs/format.md.
 *
 * The framing is storage only: op encodings sent to peers are payloads,
 * never framed. */
#ifndef MSGLOG_LOG_FRAME_H
#define MSGLOG_LOG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "log/store.h"

#define FRAME_TAIL 8   /* the checksum after the payload */

/* Writes the checksum of key and payload[0..len) at payload + len (the
 * caller reserved len + FRAME_TAIL bytes). */
void frame_seal(store_val key, uint8_t *payload, size_t len);

/* The payload of framed value v stored under key, borrowing from v:
 * MSGLOG_OK, or MSGLOG_ECORRUPT when v is shorter than a checksum or its
 * checksum does not match. */
int frame_open(store_val key, store_val v, store_val *payload);

#endif
