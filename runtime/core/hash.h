/*
 * hash.h - a fast 64-bit hash of bytes and a mixer for words, used by the
 * atom table and by ax_hash(). Not cryptographic; stable within a build
 * (term hashes are never written to disk or sent).
 */
#ifndef AX_CORE_HASH_H
#define AX_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Mixes a 64-bit value into a well-distributed one (splitmix64 finaliser). */
static inline uint64_t ax__hash_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Combines a running hash h with a value v. */
static inline uint64_t ax__hash_combine(uint64_t h, uint64_t v)
{
    return ax__hash_mix(h ^ (v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) +
                             (h >> 2)));
}

/* Hash of len bytes, seeded. */
uint64_t ax__hash_bytes(const void *data, size_t len, uint64_t seed);

#endif /* AX_CORE_HASH_H */
