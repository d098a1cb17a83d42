#include "log/frame.h"

#include "crdt/checksum.h"
#include "log/keys.h"
#include "msglog.h"

void frame_seal(store_val key, uint8_t *payload, size_t len)
{
    key_put_u64(payload + len, checksum_record(key.data, key.len, payload, len));
}

int frame_open(store_val key, store_val v, store_val *payload)
{
    if (v.len < FRAME_TAIL)
        return MSGLOG_ECORRUPT;
    size_t len = v.len - FRAME_TAIL;
    const uint8_t *p = v.data;
    if (key_get_u64(p + len) != checksum_record(key.data, key.len, p, len))
        return MSGLOG_ECORRUPT;
    *payload = (store_val){ p, len };
    return MSGLOG_OK;
}
