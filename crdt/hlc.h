/* The hybrid logical clock rule (docs/design.md, "Clock and order"): an op created at wall clock
 * reading t (ms) gets max(t << 16, maxhlc + 1), where maxhlc is the largest
 * hlc delivered in its conversation. The low 16 bits order ops made within
 * one millisecond, or while the wall clock is behind what was seen.
 *
 * An hlc is valid below HLC_LIMIT = 2^63: a wall clock reading of the
 * format is below 2^47 ms (year 6429), so nothing at or above 2^47 << 16 can
 * come from a clock. Every decoder refuses such an hlc (one op near 2^64
 * would otherwise freeze the order of its conversation for ever: every
 * later op would have to follow it), and hlc_next never makes one. */
#ifndef MSGLOG_CRDT_HLC_H
#define MSGLOG_CRDT_HLC_H

#include <stdint.h>

#define HLC_MAX_MS ((uint64_t)1 << 47)
#define HLC_LIMIT (HLC_MAX_MS << 16)

static inline int hlc_valid(uint64_t hlc)
{
    return hlc < HLC_LIMIT;
}

/* maxhlc is the largest valid hlc delivered (or 0). */
static inline uint64_t hlc_next(uint64_t wall_ms, uint64_t maxhlc)
{
    /* A clock past the year 6429 is held at the largest representable
     * reading rather than wrapped to the past. */
    uint64_t ms = wall_ms < HLC_MAX_MS ? wall_ms : HLC_MAX_MS - 1;
    uint64_t phys = ms << 16;
    if (phys > maxhlc)
        return phys;
    /* Saturate at the largest valid hlc: ops made there are still in one
     * total order, by (replica, seq) after the hlc. */
    return maxhlc >= HLC_LIMIT - 1 ? HLC_LIMIT - 1 : maxhlc + 1;
}

/* The largest hlc an op made at wall clock reading now_ms + ahead_ms could
 * carry from its own clock: a relay refuses ops above it (docs/design.md,
 * "Clock and order"). */
static inline uint64_t hlc_ceiling(uint64_t now_ms, uint64_t ahead_ms)
{
    uint64_t ms = now_ms + ahead_ms;
    if (ms < now_ms || ms >= HLC_MAX_MS)
        return HLC_LIMIT - 1;
    return (ms << 16) | 0xffff;
}

#endif
