/* The hybrid logical clock rule (docs/design.md, "Clock and order"): an op created at wall clock
 * reading t (ms) gets max(t << 16, maxhlc + 1), where maxhlc is the largest
 * hlc delivered in its conversation. The low 16 bits order ops made within
 * one millisecond, or while the wall clock is behind what was seen. */
#ifndef MSGLOG_CRDT_HLC_H
#define MSGLOG_CRDT_HLC_H

#include <stdint.h>

#define HLC_MAX_MS ((uint64_t)1 << 47)

static inline uint64_t hlc_next(uint64_t wall_ms, uint64_t maxhlc)
{
    /* A clock past the year 6429 is held at the largest representable
     * reading rather than wrapped to the past. */
    uint64_t ms = wall_ms < HLC_MAX_MS ? wall_ms : HLC_MAX_MS - 1;
    uint64_t phys = ms << 16;
    if (phys > maxhlc)
        return phys;
    /* Saturate: never wrap to 0 after a faulty peer's hlc of 2^64 - 1. */
    return maxhlc == UINT64_MAX ? maxhlc : maxhlc + 1;
}

#endif
