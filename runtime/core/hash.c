/*
 * hash.c - byte hashing (hash.h): eight bytes at a time through the
 * splitmix64 mixer, the tail zero-padded, the length folded in last.
 */
#include "hash.h"

#include <string.h>

uint64_t ax__hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ UINT64_C(0x243f6a8885a308d3);
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = ax__hash_combine(h, w);
        p += 8;
        len -= 8;
    }
    w = 0;
    memcpy(&w, p, len);
    h = ax__hash_combine(h, w ^ ((uint64_t)len << 56));
    return ax__hash_mix(h);
}
