#include "crdt/checksum.h"

#include <xxhash.h>

uint64_t checksum_record(const void *key, size_t key_len, const void *val, size_t val_len)
{
    /* xxHash reads nothing for a zero length but wants a pointer. */
    static const uint8_t none = 0;
    XXH64_hash_t seed = XXH3_64bits(key_len ? key : &none, key_len);
    return XXH3_64bits_withSeed(val_len ? val : &none, val_len, seed);
}
