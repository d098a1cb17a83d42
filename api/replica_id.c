/* msglog_new_replica_id: a random replica id (crypto/'s random source). */
#include "engine/engine.h"

#include "crypto/crypto.h"

uint64_t msglog_new_replica_id(void)
{
    uint64_t id = 0;
    while (id == 0) {    /* 0 is no id: draw again (once in 2^53) */
        if (random_bytes(&id, sizeof id) != 0)
            return 0;
        id &= REPLICA_ID_LIMIT - 1;
    }
    return id;
}
