/* Damaging a store's data file the way an attacker with file access or a
 * failing disk would: bits flipped in place, the file cut short. */
#ifndef TEST_DAMAGE_H
#define TEST_DAMAGE_H

#include <stddef.h>
#include <stdint.h>

/* XORs `mask` into byte `at` of every occurrence of needle[0..len) in
 * <dir>/data.mdb, in place (copy-on-write leaves old copies of a record in
 * free pages, so the live one is among them). Returns the number of
 * occurrences changed, or -1 on an I/O error. */
int damage_flip_text(const char *dir, const void *needle, size_t len, size_t at, uint8_t mask);

/* XORs `mask` into byte `offset` of <dir>/data.mdb. Returns 0 or -1. */
int damage_flip_byte(const char *dir, uint64_t offset, uint8_t mask);

/* The size of <dir>/data.mdb in bytes, or -1. */
int64_t damage_file_size(const char *dir);

/* Cuts <dir>/data.mdb to `size` bytes. Returns 0 or -1. */
int damage_truncate(const char *dir, uint64_t size);

/* Copies <from>/data.mdb to <to>/data.mdb (to is created). Returns 0 or -1. */
int damage_copy_store(const char *from, const char *to);

#endif
