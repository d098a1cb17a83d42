/* msglog_new_replica_id: a random replica id (crypto/'s random source). */
#include "msglog.h"

#include "crypto/crypto.h"

#define REPLICA_ID_BITS 53   /* ids are below 2^53, exact in a JSON number */

uint64_t msglog_new_replica_id(void)
{
    uint64_t id = 0;
    while (id == 0) {    /* 0 is no id: draw again (once in 2^53) */
        if (random_bytes(&id, sizeof id) != 0)
            return 0;
        id &= ((uint64_t)1 << REPLICA_ID_BITS) - 1;
    }
    return id;
}
